"""Streaming QA: fed in any blocks it measures what the whole arrays measure, in bounded memory."""

from __future__ import annotations

import math
import tracemalloc

import _episodes
import librosa
import numpy as np
import pytest
from _ladder_signals import dense, music

import audiokit
from audiokit._arrays import BLOCK_FRAMES
from audiokit.errors import ParameterError
from audiokit.io.resample import resample
from audiokit.loudness import measure
from audiokit.transcode import qa
from audiokit.transcode.encode import encode_rendition
from audiokit.transcode.rungs import Rung, resolve_rung

#: Block sizes fed: single frames, odd sizes around an STFT frame (2048 at 48 kHz) and hop, large blocks.
BLOCK_SIZES = (1, 2, 3, 17, 1023, 1024, 1025, 2047, 4097, 9999, 65536, 100003)
#: The mel distance and the level are reported to 0.0001 dB; the streaming sums run in another order than
#: the whole-array float32 means (and matrix products over other row counts), which moves the unrounded
#: values by about 1e-6 dB (measured at most 7.6e-6 on the master's log-mel values): one reporting unit.
REPORTED_DB = 1e-4
#: The reference's log-mel values: float32 products and means over other block lengths (see above).
MEL_DB_TOLERANCE = 1e-4
#: The long-term power spectrum is a float64 running sum here, a float32 mean in a whole-array pass, and the
#: two float32 FFTs (scipy's in the QA, numpy's here) round differently by an amount set by a frame's strong
#: bins: measured within 1.1e-5 of each bin on music, while bins of espeak-ng speech far above its 11 kHz band
#: (it is resampled from 22.05 kHz) differ by up to 0.18 % of themselves. Bins are therefore compared within
#: SPECTRUM_RELATIVE_TOLERANCE of themselves or SPECTRUM_PEAK_TOLERANCE of the peak bin.
SPECTRUM_RELATIVE_TOLERANCE = 1e-5
SPECTRUM_PEAK_TOLERANCE = 1e-9


def _feed(analysis, samples: np.ndarray, rng: np.random.Generator) -> None:
    """Feed ``samples`` in random blocks: 200 single frames first, then sizes drawn from BLOCK_SIZES, then an empty one."""
    position = 0
    while position < samples.shape[1]:
        size = 1 if position < 200 else int(rng.choice(BLOCK_SIZES))
        analysis.add(samples[:, position:position + size])
        position += size
    analysis.add(samples[:, :0])


def _streamed_reference(master, sample_rate, rng, *, mode="full", bit_depths=(16, 24)) -> qa.Reference:
    analysis = qa.ReferenceAnalysis(sample_rate, master.shape[0], expected_frames=master.shape[1], mode=mode,
                                    bit_depths=bit_depths)
    _feed(analysis, master, rng)
    return analysis.finish()


def _streamed_check(decoded, reference, resolved, rng, *, mode="fast", bitrate=0) -> qa.RenditionQA:
    analysis = qa.RenditionAnalysis(reference, resolved, mode=mode)
    _feed(analysis, decoded, rng)
    return analysis.finish(measured_bitrate_bps=bitrate)


# --- an independent whole-array computation of the measurements, framed as the QA documents them -----------

def _stft_power(samples: np.ndarray, n_fft: int) -> np.ndarray:
    """Channel-mean power of Hann frames at multiples of n_fft // 2, a short signal padded to one frame."""
    if samples.shape[1] < n_fft:
        samples = np.pad(samples, ((0, 0), (0, n_fft - samples.shape[1])))
    frames = np.lib.stride_tricks.sliding_window_view(samples, n_fft, axis=1)[:, ::n_fft // 2]
    spectrum = np.fft.rfft(frames * np.hanning(n_fft).astype(np.float32), axis=-1)
    return (spectrum.real**2 + spectrum.imag**2).mean(axis=0)


def _segment_mel_db(power: np.ndarray, sample_rate: int, n_fft: int) -> np.ndarray:
    basis = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=qa.MEL_BANDS, fmin=qa.MEL_FMIN_HZ,
                                fmax=min(qa.MEL_FMAX_HZ, sample_rate / 2), dtype=np.float32)
    mel = power @ basis.T
    per_segment = min(mel.shape[0], max(1, round(qa.MEL_SEGMENT_S * sample_rate / (n_fft // 2))))
    count = mel.shape[0] // per_segment
    return 10.0 * np.log10(mel[:count * per_segment].reshape(count, per_segment, -1).mean(axis=1) + 1e-30)


def _smoothed_db(power: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.convolve(power, np.ones(qa.SMOOTHING_BINS) / qa.SMOOTHING_BINS, "same") + 1e-30)


def _lookup(table, bitrate_per_channel: float) -> float:
    return next((value for minimum, value in table if bitrate_per_channel >= minimum), table[-1][1])


def _whole_array(master: np.ndarray, decoded: np.ndarray, sample_rate: int, resolved) -> dict:
    """The reference's summaries and the rendition's measurements from whole arrays of equal length."""
    n_fft = 1 << round(math.log2(qa.FRAME_S * sample_rate))
    reference_power, power = _stft_power(master, n_fft), _stft_power(decoded, n_fft)
    reference_mel = _segment_mel_db(reference_power, sample_rate, n_fft)
    floor = np.maximum(reference_mel.max() - qa.MEL_FLOOR_DB,
                       reference_mel.max(axis=1, keepdims=True) - qa.SEGMENT_RANGE_DB)
    reference_mel = np.maximum(reference_mel, floor)
    reference_spectrum = reference_power.mean(axis=0)
    reference_db = _smoothed_db(reference_spectrum)
    freqs = np.linspace(0.0, sample_rate / 2, reference_spectrum.shape[0])
    has_content = reference_db >= np.median(reference_db[(freqs >= 200) & (freqs <= 4000)]) - qa.CONTENT_FLOOR_DB
    reference_bandwidth = float(freqs[np.flatnonzero(has_content)[-1]])
    if resolved.spec.lossless:
        expected_bandwidth, passband = reference_bandwidth, sample_rate / 2
    else:
        per_channel = resolved.bitrate_bps / resolved.num_channels
        expected_bandwidth = min(_lookup(qa.EXPECTED_BANDWIDTH_HZ[resolved.rung.codec], per_channel),
                                 qa.REFERENCE_BANDWIDTH_FRACTION * reference_bandwidth)
        passband = expected_bandwidth
    bands = librosa.mel_frequencies(qa.MEL_BANDS + 2, fmin=qa.MEL_FMIN_HZ,
                                    fmax=min(qa.MEL_FMAX_HZ, sample_rate / 2))[2:] <= passband
    bands[0] = True
    mel = np.maximum(_segment_mel_db(power, sample_rate, n_fft), floor)
    spectrum = power.mean(axis=0)
    in_band = (_smoothed_db(spectrum) >= reference_db - qa.BANDWIDTH_DROP_DB) & has_content
    bins = (freqs >= qa.LEVEL_FMIN_HZ) & (freqs <= passband) & has_content
    return {
        "reference_mel_db": reference_mel,
        "reference_spectrum": reference_spectrum,
        "reference_bandwidth_hz": reference_bandwidth,
        "has_content": has_content,
        "mel_distance_db": float(np.abs(mel - reference_mel)[:, bands].mean()),
        "bandwidth_hz": float(freqs[np.flatnonzero(in_band)[-1]]),
        "expected_bandwidth_hz": expected_bandwidth,
        "level_delta_db": 10.0 * math.log10(spectrum[bins].sum(dtype=np.float64)
                                            / reference_spectrum[bins].sum(dtype=np.float64)),
    }


def _speech(sample_rate: int) -> np.ndarray:
    """Two espeak-ng sentences with a pause, dual-mono stereo (a podcast exported as stereo)."""
    parts = []
    for text in ("Welcome back to the show, where we follow a song to your headphones.",
                 "Each version is decoded again and compared with the original."):
        spoken, _ = _episodes.synthesize(text)
        parts += [resample(spoken[np.newaxis], 22050, sample_rate)[0], np.zeros(sample_rate // 3, np.float32)]
    mono = np.concatenate(parts)
    return np.stack([mono, 0.9 * mono]).astype(np.float32)


#: (material, sample rate, channels, codec, kbit/s): music-like and speech, mono and stereo, 44.1 and 48 kHz.
CASES = [
    ("music", 44100, 2, "aac", 128), ("music", 48000, 1, "opus", 32), ("dense", 48000, 2, "mp3", 128),
    ("music", 44100, 1, "mp3", 64), ("speech", 48000, 2, "opus", 24), ("speech", 44100, 2, "aac", 64),
    ("music", 44100, 2, "flac", None),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{m}-{r}-{c}ch-{codec}{k or ''}" for m, r, c, codec, k in CASES])
def test_streamed_qa_in_any_blocks_equals_the_whole_array_measurements(case, tmp_path, rng):
    material, sample_rate, channels, codec, kbps = case
    if material == "speech" and not _episodes.available():
        pytest.skip("libespeak-ng (Debian espeak-ng) reads the speech")
    master = {"music": lambda: music(sample_rate, channels=channels),
              "dense": lambda: dense(sample_rate, duration_s=3.3),
              "speech": lambda: _speech(sample_rate)}[material]()[:channels]
    resolved = resolve_rung(Rung("r", codec, bitrate_bps=kbps and kbps * 1000), source_rate=sample_rate,
                            source_channels=channels, source_bit_depth=16 if codec == "flac" else None)
    path = encode_rendition(master, resolved, tmp_path / f"r{resolved.spec.extension}", tags={})
    decoded = audiokit.read(path).samples
    bitrate = audiokit.probe(path).bitrate_bps or 0

    reference = _streamed_reference(master, sample_rate, rng)
    whole = _whole_array(master, decoded, sample_rate, resolved)
    report = measure(master, sample_rate)
    assert (reference.integrated_lufs, reference.true_peak_dbtp) == (report.integrated_lufs, report.true_peak_dbtp)
    assert reference.sample_peak == float(np.abs(master).max())
    np.testing.assert_allclose(reference.mel_db, whole["reference_mel_db"], rtol=0, atol=MEL_DB_TOLERANCE)
    np.testing.assert_allclose(reference.spectrum_power, whole["reference_spectrum"], rtol=SPECTRUM_RELATIVE_TOLERANCE,
                               atol=SPECTRUM_PEAK_TOLERANCE * whole["reference_spectrum"].max())
    assert np.array_equal(reference.has_content, whole["has_content"])
    assert reference.bandwidth_hz == whole["reference_bandwidth_hz"]
    assert reference.lossless_digests == qa.Reference.of(master, sample_rate).lossless_digests

    for mode in ("fast", "full"):
        streamed = _streamed_check(decoded, reference, resolved, rng, mode=mode, bitrate=bitrate)
        assert streamed.passed, streamed.failures
        assert streamed.num_frames == master.shape[1] and streamed.mode == mode
        assert streamed.mel_distance_db == pytest.approx(whole["mel_distance_db"], abs=REPORTED_DB)
        assert streamed.level_delta_db == pytest.approx(whole["level_delta_db"], abs=REPORTED_DB)
        assert streamed.bandwidth_hz == whole["bandwidth_hz"]
        assert streamed.expected_bandwidth_hz == whole["expected_bandwidth_hz"]
        rendition = measure(decoded, sample_rate)
        assert (streamed.integrated_lufs, streamed.true_peak_dbtp) == (rendition.integrated_lufs,
                                                                       rendition.true_peak_dbtp)
        if not streamed.skipped and mode == "fast":
            assert streamed.offset_frames == qa.alignment_offset(master, decoded)
        if codec == "flac":
            quantized = np.round(master.astype(np.float64) * 2**15) / 2**15
            assert streamed.bit_exact is True and np.array_equal(decoded, quantized)
        # The whole-array wrapper (blocks of BLOCK_FRAMES) gives the same result, to the reported unit.
        wrapped = qa.check_rendition(decoded, qa.Reference.of(master, sample_rate), resolved,
                                     measured_bitrate_bps=bitrate, mode=mode)
        assert wrapped.mel_distance_db == pytest.approx(streamed.mel_distance_db, abs=REPORTED_DB)
        assert {**wrapped.to_dict(), "mel_distance_db": 0} == {**streamed.to_dict(), "mel_distance_db": 0}


def test_faults_are_judged_alike_in_any_blocks(tmp_path, rng):
    """Planted faults on an AAC rendition: the streamed verdicts are the whole-array wrapper's."""
    master = music(48000)
    resolved = resolve_rung(Rung("r", "aac", bitrate_bps=128000), source_rate=48000, source_channels=2,
                            source_bit_depth=None)
    path = encode_rendition(master, resolved, tmp_path / "r.m4a", tags={})
    clean = audiokit.read(path).samples
    reference = _streamed_reference(master, 48000, rng)
    faults = {
        "time offset": np.concatenate([np.zeros((2, 96), np.float32), clean[:, :-96]], axis=1),
        "level": clean * np.float32(10 ** (3 / 20)),
        "decoded shape": clean[:, :-1],
        "mel distance": clean * (np.arange(clean.shape[1]) % 48000 >= 24000).astype(np.float32),
    }
    for check, decoded in faults.items():
        streamed = _streamed_check(decoded, reference, resolved, rng, bitrate=128000)
        wrapped = qa.check_rendition(decoded, reference, resolved, measured_bitrate_bps=128000)
        assert any(failure.startswith(check) for failure in streamed.failures), (check, streamed.failures)
        assert streamed.failures == wrapped.failures and streamed.offset_frames == wrapped.offset_frames


def test_full_qa_finds_an_offset_that_the_middle_window_misses(tmp_path, rng):
    """Windows are placed from the master's length: a shift in the last quarter fails 'full' only."""
    master = music(48000, duration_s=12.0)
    resolved = resolve_rung(Rung("r", "aac", bitrate_bps=128000), source_rate=48000, source_channels=2,
                            source_bit_depth=None)
    path = encode_rendition(master, resolved, tmp_path / "r.m4a", tags={})
    decoded = audiokit.read(path).samples.copy()
    cut = 9 * 48000
    decoded[:, cut:] = np.concatenate([np.zeros((2, 48), np.float32), decoded[:, cut:-48]], axis=1)
    reference = _streamed_reference(master, 48000, rng)
    fast = _streamed_check(decoded, reference, resolved, rng, mode="fast", bitrate=128000)
    full = _streamed_check(decoded, reference, resolved, rng, mode="full", bitrate=128000)
    assert fast.offset_frames == 0 and not any(f.startswith("time offset") for f in fast.failures)
    # Correlation peaks within PEAK_TIE_FRACTION resolve toward lag 0: on tonal music a 48-frame shift reads less.
    assert full.offset_frames > qa.OFFSET_TOLERANCE_FRAMES["aac"]
    assert any(f.startswith(f"time offset {full.offset_frames} frames") for f in full.failures)


def test_lossless_digest_ignores_the_sign_of_zero_and_catches_one_lsb(tmp_path, rng):
    """Master samples just under zero quantize to -0.0; the decoder returns +0.0: still bit-exact."""
    master = music(44100, channels=2, duration_s=2.0)
    master[:, 1000:1100] = -1e-8
    resolved = resolve_rung(Rung("f", "flac"), source_rate=44100, source_channels=2, source_bit_depth=24)
    path = encode_rendition(master, resolved, tmp_path / "f.flac", tags={})
    decoded = audiokit.read(path).samples
    assert np.signbit(np.round(master[0, 1000] * 2.0**23)) and not np.signbit(decoded[0, 1000])
    reference = _streamed_reference(master, 44100, rng, bit_depths=(24,))
    assert _streamed_check(decoded, reference, resolved, rng).bit_exact is True
    flipped = decoded.copy()
    flipped[1, 54321] += np.float32(2.0**-23)
    qa_result = _streamed_check(flipped, reference, resolved, rng)
    assert qa_result.bit_exact is False and "lossless rendition is not bit-exact at 24 bits" in qa_result.failures


def test_off_reference_has_loudness_and_peak_only(rng):
    master = dense(48000, duration_s=4.0)
    master[0, 777] = 1.25  # over full scale: the ladder turns such a master down
    reference = _streamed_reference(master, 48000, rng, mode="off")
    report = measure(master, 48000)
    assert (reference.integrated_lufs, reference.true_peak_dbtp) == (report.integrated_lufs, report.true_peak_dbtp)
    assert reference.sample_peak == 1.25 and reference.mel_db.shape == (0, qa.MEL_BANDS) and reference.windows == ()
    resolved = resolve_rung(Rung("o", "opus", bitrate_bps=96000), source_rate=48000, source_channels=2,
                            source_bit_depth=None)
    with pytest.raises(ParameterError, match="mode='off'"):
        qa.RenditionAnalysis(reference, resolved, mode="fast")


def test_misuse_is_named(rng):
    master = music(48000, duration_s=1.0)
    analysis = qa.ReferenceAnalysis(48000, 2, expected_frames=master.shape[1], mode="fast")
    with pytest.raises(ParameterError, match="block has 1 channels"):
        analysis.add(master[:1])
    analysis.add(master[:, :1000])
    with pytest.raises(ParameterError, match="master has 1000 frames; expected_frames said"):
        analysis.finish()
    with pytest.raises(ParameterError, match="past expected_frames"):
        analysis.add(master)
    with pytest.raises(ParameterError, match="mode is 'strict'"):
        qa.ReferenceAnalysis(48000, 2, expected_frames=10, mode="strict")
    reference = _streamed_reference(master, 48000, rng, mode="fast", bit_depths=())
    flac = resolve_rung(Rung("f", "flac"), source_rate=48000, source_channels=2, source_bit_depth=16)
    with pytest.raises(ParameterError, match=r"bit_depths=\(16,\)"):
        qa.RenditionAnalysis(reference, flac, mode="fast")
    opus = resolve_rung(Rung("o", "opus", bitrate_bps=96000), source_rate=48000, source_channels=2,
                        source_bit_depth=None)
    with pytest.raises(ParameterError, match="needs a ReferenceAnalysis made with mode='full'"):
        qa.RenditionAnalysis(reference, opus, mode="full")


# --- memory ---------------------------------------------------------------------------------------------

def _cycled_blocks(seconds: float, blocks: list[np.ndarray]):
    """``seconds`` of 48 kHz audio made of ``blocks`` in turn (the last one cut), never held whole."""
    total = round(seconds * 48000)
    for index, start in enumerate(range(0, total, BLOCK_FRAMES)):
        yield blocks[index % len(blocks)][:, :total - start]


def _peak_traced(seconds: float, master_blocks: list[np.ndarray], rendition_blocks: list[np.ndarray]) -> int:
    """Peak traced memory, bytes, of a master's and a rendition's full analysis, over the blocks' own."""
    resolved = resolve_rung(Rung("f", "flac"), source_rate=48000, source_channels=2, source_bit_depth=16)
    tracemalloc.start()
    try:
        analysis = qa.ReferenceAnalysis(48000, 2, expected_frames=round(seconds * 48000), mode="full",
                                        bit_depths=(16,))
        for block in _cycled_blocks(seconds, master_blocks):
            analysis.add(block)
        rendition = qa.RenditionAnalysis(analysis.finish(), resolved, mode="full")
        for block in _cycled_blocks(seconds, rendition_blocks):
            rendition.add(block)
        assert rendition.finish(measured_bitrate_bps=0).bit_exact is False
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_duration():
    """QA of a master and a rendition in "full" mode needs the same few MB for 1 minute as for 5.

    What stays: the alignment windows (6 MB of float64 channel sums for both signals) and one block's
    temporaries. What grows: the master's mel segments (256 bytes per 0.25 s) and the loudness meters'
    10 ms energies (8 bytes each, in a buffer that doubles, plus their report's temporaries): measured
    0.9 MB over the 4 extra minutes for both signals together, against 92 MB for 4 minutes of one
    float32 stereo signal held whole.
    """
    master = dense(48000, duration_s=3 * BLOCK_FRAMES / 48000)
    master_blocks = [np.ascontiguousarray(master[:, start:start + BLOCK_FRAMES])
                     for start in range(0, master.shape[1], BLOCK_FRAMES)]
    rendition_blocks = [block * np.float32(0.99) for block in master_blocks]
    _peak_traced(1.0, master_blocks, rendition_blocks)  # librosa's filters and the kernels load outside the count
    short = _peak_traced(60.0, master_blocks, rendition_blocks)
    long = _peak_traced(300.0, master_blocks, rendition_blocks)
    assert long < 16_000_000, long
    assert long - short < 1_500_000, (short, long)
