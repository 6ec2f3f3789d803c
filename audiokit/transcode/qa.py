"""Rendition QA: measurements of a decoded rendition against what was encoded.

Every rendition is decoded with :func:`audiokit.read` and compared with its
reference, the master it was encoded from (the source downmixed to the rung's
channels and resampled to its rate with audiokit's resampler, which is
zero-delay, so alignment with the reference is alignment with the source):

- **frames**: exactly the reference's frame count;
- **offset**: the lag of the cross-correlation peak is 0 (within one sample);
- **bitrate**: payload bits per second (container overhead excluded) within
  +-10 % of the target for constant-bitrate MP3, at most 25 % over it for
  ABR AAC and VBR Opus (which spend fewer bits on easy content);
- **bandwidth**: the highest frequency, among those where the reference has
  content, at which the rendition's long-term spectrum is within
  :data:`BANDWIDTH_DROP_DB` of the reference's (Opus's CELT layer keeps each
  band's energy, filling high bands by spectral folding, so Opus measures
  near full band even at low bitrates); at least
  the codec's expected value (:data:`EXPECTED_BANDWIDTH_HZ`) or 90 % of the
  reference's own bandwidth, whichever is lower;
- **mel distance**: mean absolute difference of 64-band log-mel spectra of
  successive 0.25 s segments, dB, under the codec's limit for its bitrate
  (:data:`MEL_DISTANCE_LIMITS_DB`). Segments, not single 43 ms frames: a
  codec's noise filling keeps each band's energy over time but not frame by
  frame, so frame-level differences on noisy content measure the noise, not
  the codec;
- **loudness**: lossy rungs of at least 64 kbit/s within 0.2 LU of the
  reference; lossless rungs bit-exact at their bit depth.

The limits were set from measurement (docs/transcode.md gives the numbers).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .gain import measure_loudness
from .rungs import ResolvedRung

__all__ = [
    "BANDWIDTH_DROP_DB",
    "EXPECTED_BANDWIDTH_HZ",
    "MEL_DISTANCE_LIMITS_DB",
    "Reference",
    "RenditionQA",
    "alignment_offset",
    "check_rendition",
]

#: A rendition's band ends where its smoothed spectrum falls this far below the reference's.
BANDWIDTH_DROP_DB = 20.0
#: Frequencies where the reference's spectrum is this far below its 200 Hz - 4 kHz median
#: hold no content: they count for neither the reference's bandwidth nor a rendition's.
CONTENT_FLOOR_DB = 50.0
#: Spectra are smoothed over this many FFT bins before the band edge is found.
SMOOTHING_BINS = 9
#: A rendition needs at least this fraction of the reference's bandwidth when that is
#: below the codec's expected value (LAME low-passes at about 0.91 x Nyquist).
REFERENCE_BANDWIDTH_FRACTION = 0.9
#: Mel analysis: bands, lowest frequency, highest frequency (capped at Nyquist).
MEL_BANDS = 64
MEL_FMIN_HZ = 20.0
MEL_FMAX_HZ = 20000.0
#: Log-mel values are floored this far below the reference's loudest band-segment.
MEL_FLOOR_DB = 80.0
#: The mel spectra compared are the mean power of the STFT frames of segments this long, s.
MEL_SEGMENT_S = 0.25
#: STFT frame: about 43 ms (2048 at 48 kHz), hop half of it.
FRAME_S = 2048 / 48000
#: Frames per STFT batch (bounds memory on long tracks).
STFT_BATCH_FRAMES = 512
#: Cross-correlation window and largest lag searched, frames.
ALIGNMENT_WINDOW_FRAMES = 1 << 17
MAX_LAG_FRAMES = 4096
#: Largest |offset| accepted, frames ("time-aligned within one sample").
MAX_OFFSET_FRAMES = 1
#: Constant-bitrate rungs: measured payload bitrate within this fraction of the target.
BITRATE_TOLERANCE = 0.10
#: ABR/VBR rungs: measured payload bitrate at most this fraction over the target.
VARIABLE_BITRATE_OVERSHOOT = 0.25
#: Loudness of lossy rungs at or above LOUDNESS_CHECK_MIN_BPS: within this many LU of the reference.
LOUDNESS_TOLERANCE_LU = 0.2
LOUDNESS_CHECK_MIN_BPS = 64_000
#: Expected bandwidth, Hz, by codec: (minimum bitrate per channel in bits/s, Hz), highest first.
EXPECTED_BANDWIDTH_HZ = {
    "opus": ((40_000, 18_000), (0, 16_000)),
    "aac": ((96_000, 18_000), (80_000, 17_000), (64_000, 16_500), (48_000, 15_000), (0, 11_000)),
    "mp3": ((160_000, 18_500), (96_000, 18_000), (64_000, 15_500), (0, 7_500)),
}
#: Mel distance limits, dB, by codec: (minimum bitrate per channel in bits/s, limit), highest first.
#: The worst case of benchmarks/qa_calibration.py's corpus (white noise aside) times about 1.3, never under
#: the limits of the first, smaller calibration (docs/transcode.md).
MEL_DISTANCE_LIMITS_DB = {
    "opus": ((80_000, 0.4), (48_000, 2.5), (32_000, 2.75), (0, 2.0)),
    "aac": ((96_000, 0.5), (80_000, 1.0), (64_000, 2.0), (48_000, 3.25), (0, 9.0)),
    "mp3": ((160_000, 0.5), (96_000, 1.0), (64_000, 2.75), (0, 16.0)),
}


def _lookup(table: tuple[tuple[int, float], ...], bitrate_per_channel: float) -> float:
    for minimum, value in table:
        if bitrate_per_channel >= minimum:
            return value
    return table[-1][1]


def _frame_length(sample_rate: int) -> int:
    """Power-of-two STFT length of about :data:`FRAME_S`."""
    return 1 << round(math.log2(FRAME_S * sample_rate))


def _stft_power(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Channel-mean power spectrogram, float32 [shape=(frames, n_fft // 2 + 1)]."""
    n_fft = _frame_length(sample_rate)
    hop = n_fft // 2
    if samples.shape[1] < n_fft:
        samples = np.pad(samples, ((0, 0), (0, n_fft - samples.shape[1])))
    window = np.hanning(n_fft).astype(np.float32)
    count = 1 + (samples.shape[1] - n_fft) // hop
    out = np.empty((count, n_fft // 2 + 1), np.float32)
    for start in range(0, count, STFT_BATCH_FRAMES):
        stop = min(count, start + STFT_BATCH_FRAMES)
        frames = np.lib.stride_tricks.sliding_window_view(
            samples[:, start * hop:(stop - 1) * hop + n_fft], n_fft, axis=1)[:, ::hop]
        spectrum = np.fft.rfft(frames * window, axis=-1)
        out[start:stop] = (spectrum.real**2 + spectrum.imag**2).mean(axis=0)
    return out


def _mel_basis(sample_rate: int, n_fft: int) -> np.ndarray:
    import librosa

    fmax = min(MEL_FMAX_HZ, sample_rate / 2)
    return librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=MEL_BANDS, fmin=MEL_FMIN_HZ,
                               fmax=fmax, dtype=np.float32)


def _segment_mel_db(power: np.ndarray, sample_rate: int) -> np.ndarray:
    """Log-mel spectrum of each MEL_SEGMENT_S segment (a partial last one dropped), dB.

    ``power`` is :func:`_stft_power`'s; returns float32 [shape=(segments, MEL_BANDS)], at least one segment.
    """
    mel = power @ _mel_basis(sample_rate, 2 * (power.shape[1] - 1)).T
    hop_s = (power.shape[1] - 1) / sample_rate  # hop = n_fft / 2 = number of bins - 1
    per_segment = min(mel.shape[0], max(1, round(MEL_SEGMENT_S / hop_s)))
    count = mel.shape[0] // per_segment
    segments = mel[:count * per_segment].reshape(count, per_segment, MEL_BANDS).mean(axis=1)
    return 10.0 * np.log10(segments + 1e-30)


def _smoothed_db(power: np.ndarray) -> np.ndarray:
    kernel = np.ones(SMOOTHING_BINS) / SMOOTHING_BINS
    return 10.0 * np.log10(np.convolve(power, kernel, mode="same") + 1e-30)


@dataclass(frozen=True, eq=False)
class Reference:
    """What renditions of one master are compared against; build with :meth:`of`."""

    #: the master, float32 [shape=(channels, frames)]
    samples: np.ndarray
    #: Hz
    sample_rate: int
    #: integrated loudness, LUFS (-inf when undefined)
    integrated_lufs: float
    #: true peak, dBTP
    true_peak_dbtp: float
    #: log-mel spectra of MEL_SEGMENT_S segments, dB [shape=(segments, MEL_BANDS)]
    mel_db: np.ndarray
    #: floor applied to renditions' log-mel values, dB
    mel_floor_db: float
    #: smoothed long-term spectrum, dB [shape=(n_fft // 2 + 1,)]
    spectrum_db: np.ndarray
    #: where spectrum_db holds content (within CONTENT_FLOOR_DB of the midband median)
    has_content: np.ndarray
    #: highest frequency holding content (within CONTENT_FLOOR_DB of the midband median), Hz
    bandwidth_hz: float

    @classmethod
    def of(cls, samples: np.ndarray, sample_rate: int, *, integrated_lufs: float,
           true_peak_dbtp: float) -> "Reference":
        """Analyse a master once for all the renditions encoded from it.

        Parameters
        ----------
        samples : np.ndarray [shape=(channels, frames), dtype=float32]
        sample_rate : int
        integrated_lufs, true_peak_dbtp : float
            The master's loudness (:func:`~audiokit.transcode.gain.measure_loudness`),
            measured once for its gain tags.
        """
        power = _stft_power(samples, sample_rate)
        mel_db = _segment_mel_db(power, sample_rate)
        floor = float(mel_db.max()) - MEL_FLOOR_DB
        spectrum_db = _smoothed_db(power.mean(axis=0))
        freqs = np.linspace(0.0, sample_rate / 2, power.shape[1])
        midband = spectrum_db[(freqs >= 200.0) & (freqs <= 4000.0)]
        has_content = spectrum_db >= np.median(midband) - CONTENT_FLOOR_DB
        bandwidth = float(freqs[np.flatnonzero(has_content)[-1]]) if has_content.any() else 0.0
        return cls(samples, sample_rate, integrated_lufs, true_peak_dbtp, np.maximum(mel_db, floor), floor, spectrum_db,
                   has_content, bandwidth)


@dataclass(frozen=True)
class RenditionQA:
    """The measurements and verdicts of one rendition's QA."""

    #: frames decoded by audiokit.read
    num_frames: int
    #: lag of the cross-correlation peak against the reference, frames (0 = aligned)
    offset_frames: int
    #: payload bitrate (container overhead excluded), bits per second
    measured_bitrate_bps: int
    #: integrated loudness of the decoded rendition, LUFS (None when undefined)
    integrated_lufs: float | None
    #: its true peak, dBTP (None when undefined)
    true_peak_dbtp: float | None
    #: integrated loudness minus the reference's, LU (None when undefined)
    loudness_delta_lu: float | None
    #: effective bandwidth, Hz
    bandwidth_hz: float
    #: the bandwidth the check required, Hz
    expected_bandwidth_hz: float
    #: mean absolute log-mel difference from the reference, dB
    mel_distance_db: float
    #: the limit the check applied, dB (0 for lossless: the check is bit-exactness)
    mel_distance_limit_db: float
    #: lossless rungs: decoded samples equal the reference quantized to the bit depth (None for lossy)
    bit_exact: bool | None
    #: one sentence per failed check; empty when the rendition passed
    failures: tuple[str, ...]

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict."""
        out = asdict(self)
        out["failures"] = list(self.failures)
        return out


def alignment_offset(reference: np.ndarray, decoded: np.ndarray) -> int:
    """Lag, in frames, at which ``decoded`` best matches ``reference`` (0 = aligned).

    Parameters
    ----------
    reference, decoded : np.ndarray [shape=(channels, frames)]
        Same rate and channel count.

    Returns
    -------
    int
        Positive when ``decoded`` is late. The channel sums of a window of at
        most :data:`ALIGNMENT_WINDOW_FRAMES` around the middle are
        cross-correlated over +-:data:`MAX_LAG_FRAMES`; silence gives 0.
    """
    frames = min(reference.shape[1], decoded.shape[1])
    length = min(frames, ALIGNMENT_WINDOW_FRAMES)
    start = (frames - length) // 2
    a = reference[:, start:start + length].sum(axis=0, dtype=np.float64)
    b = decoded[:, start:start + length].sum(axis=0, dtype=np.float64)
    if not (a.any() and b.any()):
        return 0
    size = 1 << math.ceil(math.log2(length + MAX_LAG_FRAMES))
    correlation = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    max_lag = min(MAX_LAG_FRAMES, length - 1)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    values = np.concatenate([correlation[:max_lag + 1], correlation[size - max_lag:]])
    return int(lags[np.argmax(values)])


def _quantized(samples: np.ndarray, bit_depth: int) -> np.ndarray:
    """``samples`` as the writer stores them at ``bit_depth``, back in float32."""
    full_scale = 2.0 ** (bit_depth - 1)
    steps = np.clip(np.round(samples.astype(np.float64) * full_scale), -full_scale, full_scale - 1)
    return (steps / full_scale).astype(np.float32)


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def check_rendition(decoded: np.ndarray, reference: Reference, resolved: ResolvedRung, *,
                    measured_bitrate_bps: int) -> RenditionQA:
    """Measure a decoded rendition against its reference and list failed checks.

    Parameters
    ----------
    decoded : np.ndarray [shape=(channels, frames), dtype=float32]
        ``audiokit.read(rendition).samples``.
    reference : Reference
        The master the rendition was encoded from.
    resolved : ResolvedRung
    measured_bitrate_bps : int
        Payload bitrate from :func:`audiokit.probe`.

    Returns
    -------
    RenditionQA
    """
    rung, spec = resolved.rung, resolved.spec
    failures = []
    expected_frames = reference.samples.shape[1]
    if decoded.shape != reference.samples.shape:
        failures.append(f"decoded shape {decoded.shape} != reference {reference.samples.shape} (frames must be exact)")
        length = min(decoded.shape[1], expected_frames)
        decoded_cmp, reference_cmp = decoded[:, :length], reference.samples[:, :length]
    else:
        decoded_cmp, reference_cmp = decoded, reference.samples
    offset = alignment_offset(reference_cmp, decoded_cmp)
    if abs(offset) > MAX_OFFSET_FRAMES:
        failures.append(f"time offset {offset} frames against the source (expected 0)")
    if not spec.lossless:
        error = measured_bitrate_bps / resolved.bitrate_bps - 1.0
        if spec.constant_bitrate and abs(error) > BITRATE_TOLERANCE:
            failures.append(
                f"measured bitrate {measured_bitrate_bps} bit/s is {error:+.1%} off the {resolved.bitrate_bps} target "
                f"(tolerance {BITRATE_TOLERANCE:.0%})"
            )
        elif error > VARIABLE_BITRATE_OVERSHOOT:
            failures.append(
                f"measured bitrate {measured_bitrate_bps} bit/s is {error:+.1%} over the {resolved.bitrate_bps} target "
                f"(at most +{VARIABLE_BITRATE_OVERSHOOT:.0%})"
            )
    integrated, peak = measure_loudness(decoded, resolved.sample_rate)
    delta = integrated - reference.integrated_lufs
    bit_exact = None
    if spec.lossless:
        bit_exact = bool(np.array_equal(decoded_cmp, _quantized(reference_cmp, resolved.bit_depth)))
        if not bit_exact:
            failures.append(f"lossless rendition is not bit-exact at {resolved.bit_depth} bits")
    elif resolved.bitrate_bps >= LOUDNESS_CHECK_MIN_BPS and math.isfinite(delta) and abs(delta) > LOUDNESS_TOLERANCE_LU:
        failures.append(f"loudness {delta:+.2f} LU off the source (tolerance {LOUDNESS_TOLERANCE_LU} LU)")
    power = _stft_power(decoded_cmp, resolved.sample_rate)
    mel_db = np.maximum(_segment_mel_db(power, resolved.sample_rate),
                        reference.mel_floor_db)
    # Reported to 0.0001 dB: the float32 BLAS products above sum in an order that depends on the
    # thread count, which moves the last bits, and a manifest must not depend on where it was made.
    mel_distance = round(float(np.abs(mel_db - reference.mel_db[: mel_db.shape[0]]).mean()), 4)
    spectrum_db = _smoothed_db(power.mean(axis=0))
    freqs = np.linspace(0.0, resolved.sample_rate / 2, power.shape[1])
    in_band = (spectrum_db >= reference.spectrum_db - BANDWIDTH_DROP_DB) & reference.has_content
    bandwidth = float(freqs[np.flatnonzero(in_band)[-1]]) if in_band.any() else 0.0
    if spec.lossless:
        expected_bandwidth, mel_limit = reference.bandwidth_hz, 0.0
    else:
        per_channel = resolved.bitrate_bps / resolved.num_channels
        expected_bandwidth = min(_lookup(EXPECTED_BANDWIDTH_HZ[rung.codec], per_channel), REFERENCE_BANDWIDTH_FRACTION * reference.bandwidth_hz)
        mel_limit = _lookup(MEL_DISTANCE_LIMITS_DB[rung.codec], per_channel)
        if mel_distance > mel_limit:
            failures.append(f"mel distance {mel_distance:.2f} dB over the {mel_limit} dB limit for {rung.codec} "
                            f"at {resolved.bitrate_bps} bit/s")
    if bandwidth < expected_bandwidth:
        failures.append(f"bandwidth {bandwidth:.0f} Hz under the expected {expected_bandwidth:.0f} Hz")
    return RenditionQA(
        num_frames=decoded.shape[1],
        offset_frames=offset,
        measured_bitrate_bps=int(measured_bitrate_bps),
        integrated_lufs=_finite(integrated),
        true_peak_dbtp=_finite(peak),
        loudness_delta_lu=_finite(delta) if math.isfinite(integrated) else None,
        bandwidth_hz=bandwidth,
        expected_bandwidth_hz=float(expected_bandwidth),
        mel_distance_db=mel_distance,
        mel_distance_limit_db=mel_limit,
        bit_exact=bit_exact,
        failures=tuple(failures),
    )
