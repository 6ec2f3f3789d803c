"""Fingerprints find the same recording again, with its offset, and never group different tracks.

A generated catalog: 50 distinct 20 s music-like tracks (tests/_signals.notes),
and for 8 of them six copies a platform meets as "the same upload again":
MP3 64 kbit/s, AAC 96 kbit/s, Opus 24 kbit/s, the first 7 s cut, 6 dB quieter,
resampled to 22.05 kHz. Truth is known, so pairwise precision and recall are exact.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from _signals import notes

import audiokit
from audiokit.errors import FormatError
from audiokit.fingerprint import ITEM_S, MATCH_MAX_BER, Fingerprint, compare, duplicate_groups, fingerprint
from audiokit.io.resample import resample

RATE = 44100
TRACKS, COPIED, SECONDS, TRIM_S = 50, 8, 20.0, 7.0
VARIANTS = ("mp3-64k", "aac-96k", "opus-24k", "trimmed-7s", "minus-6dB", "resampled-22k")
#: The margins asserted on either side of the match limit (MATCH_MAX_BER, 0.30): the worst copy's bit error
#: rate is at most half of it, and the closest pair of different tracks is at least 10 % above it.
COPY_BER_MAX, DISTINCT_BER_MIN = 0.5 * MATCH_MAX_BER, 1.1 * MATCH_MAX_BER


def _variant(kind: str, samples: np.ndarray, folder, name: str):
    if kind == "mp3-64k":
        return audiokit.write(folder / f"{name}.mp3", audiokit.Audio(samples, RATE), bitrate_bps=64_000)
    if kind == "aac-96k":
        return audiokit.write(folder / f"{name}.m4a", audiokit.Audio(samples, RATE), bitrate_bps=96_000)
    if kind == "opus-24k":
        return audiokit.write(folder / f"{name}.opus", audiokit.Audio(samples, RATE), bitrate_bps=24_000)
    if kind == "trimmed-7s":
        return audiokit.Audio(samples[:, int(TRIM_S * RATE):], RATE)
    if kind == "minus-6dB":
        return audiokit.Audio(samples * np.float32(0.5), RATE)
    return audiokit.Audio(resample(samples, RATE, 22050), 22050)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    """(fingerprints, track index of each, expected offset of each) for the whole generated catalog."""
    folder = tmp_path_factory.mktemp("catalog")
    prints, tracks, offsets = [], [], []
    for track in range(TRACKS):
        samples = (0.25 * notes(RATE, SECONDS, np.random.default_rng(1000 + track))).astype(np.float32)
        prints.append(fingerprint(audiokit.Audio(samples, RATE)))
        tracks.append(track)
        offsets.append(0.0)
        if track < COPIED:
            for kind in VARIANTS:
                prints.append(fingerprint(_variant(kind, samples, folder, f"{track}-{kind}")))
                tracks.append(track)
                offsets.append(TRIM_S if kind == "trimmed-7s" else 0.0)
    return prints, tracks, offsets


def test_every_copy_is_grouped_with_its_original_at_the_right_offset(catalog):
    prints, tracks, offsets = catalog
    groups = duplicate_groups(prints)
    assert len(groups) == COPIED
    for group in groups:
        members = [index for index, _ in group]
        assert {tracks[index] for index in members} == {tracks[members[0]]}  # never two tracks in one group
        assert len(members) == 1 + len(VARIANTS)  # every copy found
        for index, offset_s in group:  # relative to the group's first member, the original
            assert offset_s == pytest.approx(offsets[index] - offsets[members[0]], abs=ITEM_S)


def test_pairwise_precision_and_recall_are_exact(catalog):
    prints, tracks, _ = catalog
    true_positive = false_positive = false_negative = 0
    worst_same, best_different = 0.0, 1.0
    for i, j in itertools.combinations(range(len(prints)), 2):
        match = compare(prints[i], prints[j])
        same = tracks[i] == tracks[j]
        if same:
            worst_same = max(worst_same, match.bit_error_rate)
        else:
            best_different = min(best_different, match.bit_error_rate)
        true_positive += same and match.same_recording
        false_positive += (not same) and match.same_recording
        false_negative += same and not match.same_recording
    print(f"pairs: {true_positive} true, {false_positive} false positive, {false_negative} missed; "
          f"worst BER of a copy {worst_same:.3f}, lowest BER between different tracks {best_different:.3f}")
    assert (false_positive, false_negative) == (0, 0)
    assert worst_same <= COPY_BER_MAX and best_different >= DISTINCT_BER_MIN, (worst_same, best_different)
    assert true_positive == COPIED * (len(VARIANTS) + 1) * len(VARIANTS) // 2


def test_fingerprints_round_trip_through_json(catalog):
    first = catalog[0][0]
    again = Fingerprint.from_dict(first.to_dict())
    np.testing.assert_array_equal(again.words, first.words)
    assert compare(first, again).bit_error_rate == 0.0


def test_the_duplicates_command_lists_groups_with_offsets(tmp_path):
    from click.testing import CliRunner

    from audiokit.cli.duplicates import duplicates

    samples = (0.25 * notes(RATE, SECONDS, np.random.default_rng(7))).astype(np.float32)
    other = (0.25 * notes(RATE, SECONDS, np.random.default_rng(8))).astype(np.float32)
    original = audiokit.write(tmp_path / "original.flac", audiokit.Audio(samples, RATE))
    copy = audiokit.write(tmp_path / "copy.opus", audiokit.Audio(samples[:, int(TRIM_S * RATE):], RATE))
    unrelated = audiokit.write(tmp_path / "other.flac", audiokit.Audio(other, RATE))
    result = CliRunner().invoke(duplicates, [str(original), str(unrelated), str(copy), "--json"])
    assert result.exit_code == 0, result.output
    (group,) = json.loads(result.stdout)
    assert [member["file"] for member in group] == [str(original), str(copy)]
    assert group[1]["offset_s"] == pytest.approx(TRIM_S, abs=ITEM_S)


def test_malformed_fingerprint_documents_are_format_errors(catalog):
    document = catalog[0][0].to_dict()
    assert document["num_words"] == catalog[0][0].words.size and document["algorithm"] == "chromaprint"
    with pytest.raises(FormatError, match="not an audiokit fingerprint document"):
        Fingerprint.from_dict({**document, "words_base64": "not base64!"})
    with pytest.raises(FormatError, match="multiple of 4"):
        Fingerprint.from_bytes(b"\x00" * 6, 1.0)


@pytest.mark.parametrize("block", [997, 44100])
def test_the_streaming_builder_is_chunk_invariant(block):
    from audiokit.fingerprint import FingerprintBuilder

    samples = (0.25 * notes(RATE, 12.0, np.random.default_rng(31))).astype(np.float32)
    whole = FingerprintBuilder(RATE)
    whole.process(samples)
    chunked = FingerprintBuilder(RATE)
    for start in range(0, samples.shape[1], block):
        chunked.process(samples[:, start:start + block])
    expected, found = whole.flush(), chunked.flush()
    np.testing.assert_array_equal(found.words, expected.words)
    assert found.duration_s == pytest.approx(12.0, abs=1 / 11025)
