"""Streaming bleep: refining and bleeping a file in blocks gives the samples of the whole-array functions.

The episodes are espeak-ng pieces spliced with known gaps (``_spliced``), so
every planted word's samples are known; the transcript's word times run 80 ms
late, as Whisper's do. The whole-array route (``refine_spans`` and ``bleep``
on the decoded source, ``write_like``) is the reference; the streaming one
(``refine_source_spans``, ``bleep_source``, ``moderate(bleep=)``) must match
it sample for sample, with block sizes from a few frames to more than the
file.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from _spliced import SAMPLE_RATE, held_out_episodes

import audiokit
from audiokit import Audio
from audiokit.models.moderation import moderate
from audiokit.models.moderation.bleep import (
    BLEEP_MODES,
    Bleeper,
    bleep,
    bleep_source,
    refine_source_spans,
    refine_spans,
    write_like,
)
from audiokit.models.moderation.transcript import word_times
from audiokit.models.whisper.writers import segments_from_json

#: the transcript's word times run this late (Whisper's are mostly late)
LATE_S = 0.08
#: block sizes read at a time: tiny, odd, an encoder frame's multiple, more than the file
BLOCK_SIZES = (37, 1000, 8192, 1 << 22)


def _transcript(episode) -> dict:
    """A transcript document of the episode: each piece's words spread over its samples, LATE_S late."""
    segments = []
    for sentence in sorted({piece.sentence for piece in episode.pieces}):
        words = []
        for piece in (p for p in episode.pieces if p.sentence == sentence):
            tokens = piece.text.split()
            start_s, end_s = piece.first / SAMPLE_RATE + LATE_S, piece.stop / SAMPLE_RATE + LATE_S
            step = (end_s - start_s) / len(tokens)
            words += [{"text": " " + token, "start_s": round(start_s + i * step, 3),
                       "end_s": round(start_s + (i + 1) * step, 3), "probability": 0.9}
                      for i, token in enumerate(tokens)]
        segments.append({"start_s": words[0]["start_s"], "end_s": words[-1]["end_s"],
                         "text": " ".join(w["text"].strip() for w in words), "words": words})
    return {"language": "en", "segments": segments}


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> list[tuple[object, object, list]]:
    """(episode, path, words) for a mono 16-bit WAV, a stereo FLAC (one with a music bed) and a mono MP3."""
    folder = tmp_path_factory.mktemp("bleep-streaming")
    plain, bedded = held_out_episodes()[:2]
    out = []
    for episode, name, stereo, options in ((plain, "plain.wav", False, {"bit_depth": 16}),
                                           (bedded, "bed.flac", True, {}),
                                           (plain, "plain.mp3", False, {"codec": "mp3", "bitrate_bps": 96_000})):
        samples = np.concatenate([episode.samples, 0.7 * episode.samples]) if stereo else episode.samples
        path = folder / name
        audiokit.write(path, Audio(np.ascontiguousarray(samples, np.float32), SAMPLE_RATE), **options)
        transcript = folder / f"{name}.json"
        transcript.write_text(json.dumps(_transcript(episode)), encoding="utf-8")
        out.append((episode, path, transcript))
    return out


def _flagged_spans(episode) -> list[tuple[float, float]]:
    """The planted words' transcript spans (late, as in the transcript)."""
    return [(p.first / SAMPLE_RATE + LATE_S, p.stop / SAMPLE_RATE + LATE_S) for p in episode.planted]


def test_refining_in_blocks_reads_the_same_levels_as_the_whole_signal(sources):
    for episode, path, transcript in sources:
        words = word_times(segments_from_json(json.loads(transcript.read_text(encoding="utf-8"))))
        spans, texts = _flagged_spans(episode), [piece.text for piece in episode.planted]
        whole = audiokit.read(path)
        expected = refine_spans(whole.samples, whole.sample_rate, spans, words=words, texts=texts)
        assert len(expected) == len(episode.planted) >= 3
        for block_frames in BLOCK_SIZES:
            assert refine_source_spans(path, spans, words=words, texts=texts, block_frames=block_frames) == expected, (
                path.name)
        assert refine_source_spans(whole, spans, words=words, texts=texts) == expected


@pytest.mark.parametrize("mode", BLEEP_MODES)
def test_a_bleeper_fed_blocks_of_any_size_gives_the_whole_signal_bleep(mode, sources):
    rng = np.random.default_rng(11)
    episode, path, _ = sources[1]  # stereo, music bed
    audio = audiokit.read(path)
    spans = refine_spans(audio.samples, audio.sample_rate, _flagged_spans(episode))
    # two spans closer than the zero-crossing search: their searches overlap
    spans += [(spans[0][1] + 0.001, spans[0][1] + 0.2)]
    expected, replaced = bleep(audio, spans, mode=mode)
    bleeper = Bleeper(spans, audio.sample_rate, audio.num_channels, audio.num_frames, mode=mode)
    pieces, position = [], 0
    while position < audio.num_frames:
        size = int(rng.integers(1, 50)) if position < 20000 else int(np.exp(rng.uniform(0, np.log(200_000))))
        pieces.append(bleeper.process(audio.samples[:, position : position + size]))
        position += size
    pieces.append(bleeper.flush())
    np.testing.assert_array_equal(np.concatenate(pieces, axis=1), expected.samples)
    assert bleeper.replaced == replaced


def test_a_file_bleeped_in_blocks_equals_the_whole_array_bleep_written_like_the_source(sources, tmp_path):
    for episode, path, _ in sources:
        whole = audiokit.read(path)
        spans = refine_spans(whole.samples, whole.sample_rate, _flagged_spans(episode))
        bleeped, replaced = bleep(whole, spans)
        reference = write_like(path, tmp_path / f"reference{path.suffix}", bleeped)
        for block_frames in BLOCK_SIZES[1:]:  # tiny blocks: the Bleeper test above
            output = tmp_path / f"streamed-{block_frames}{path.suffix}"
            written, streamed_replaced = bleep_source(path, output, spans, block_frames=block_frames)
            assert written == output and streamed_replaced == replaced
            before, after = audiokit.probe(reference), audiokit.probe(output)
            assert (after.codec, after.num_frames, after.bit_depth) == (before.codec, before.num_frames,
                                                                         before.bit_depth)
            np.testing.assert_array_equal(audiokit.read(output).samples, audiokit.read(reference).samples,
                                          err_msg=f"{path.name}, blocks of {block_frames}")
        assert not list(tmp_path.glob(".*.partial"))  # every output moved into place


def test_moderate_bleeps_a_file_without_reading_it_whole_and_matches_the_whole_array_route(sources, tmp_path):
    episode, path, transcript = sources[0]
    output = tmp_path / "clean.wav"
    result = moderate(path, transcript=transcript, bleep=output, bleep_mode="tone", audio_checks=False)
    flagged = [f for f in result.flags if f.source == "transcript"]
    assert len(flagged) >= len(episode.planted) - 1
    whole = audiokit.read(path)
    words = word_times(segments_from_json(json.loads(transcript.read_text(encoding="utf-8"))))
    spans = refine_spans(whole.samples, whole.sample_rate, [(f.start_s, f.end_s) for f in flagged], words=words,
                         texts=[f.text for f in flagged])
    bleeped, replaced = bleep(whole, spans, mode="tone")
    assert list(result.bleep.spans) == replaced
    reference = write_like(path, tmp_path / "reference.wav", bleeped)
    np.testing.assert_array_equal(audiokit.read(output).samples, audiokit.read(reference).samples)
    # the bleeped copy of a file may replace the file itself
    in_place = tmp_path / "in-place.wav"
    in_place.write_bytes(path.read_bytes())
    moderate(in_place, transcript=transcript, bleep=in_place, bleep_mode="tone", audio_checks=False)
    np.testing.assert_array_equal(audiokit.read(in_place).samples, audiokit.read(reference).samples)
