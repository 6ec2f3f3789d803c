"""Rendition QA: measurements of a decoded rendition against what was encoded.

Every rendition is decoded with :func:`audiokit.read` and compared with its
reference, the master it was encoded from (the source downmixed to the rung's
channels and resampled to its rate with audiokit's resampler, which is
zero-delay, so alignment with the reference is alignment with the source):

- **frames**: exactly the reference's frame count;
- **offset**: the lag of the cross-correlation peak is within the codec's
  tolerance (:data:`OFFSET_TOLERANCE_FRAMES`: one sample for AAC and MP3,
  8 for Opus, whose SILK/hybrid modes and stereo coding move the peak of
  speech, pure tones and noise by 2-5 samples at 48 kHz while a gapless
  error moves it by hundreds); ``full`` QA checks windows across the whole
  track, ``fast`` one window in the middle;
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
  (:data:`MEL_DISTANCE_LIMITS_DB`), over the mel bands inside the codec's
  passband (the expected bandwidth: what a codec drops above it is the
  bandwidth check's business) and with each segment floored
  :data:`SEGMENT_RANGE_DB` under its loudest band (the codec's noise beside
  a pure tone is masked, not damage). Segments, not single 43 ms frames: a
  codec's noise filling keeps each band's energy over time but not frame by
  frame, so frame-level differences on noisy content measure the noise, not
  the codec;
- **level**: the rendition's power inside that passband within the codec's
  :data:`LEVEL_TOLERANCE_DB` of the reference's, at every bitrate (a level
  fault, not a codec's band limit); lossless rungs bit-exact at their bit
  depth. BS.1770 loudness is measured and reported (the ladder writes each
  rendition's own gain tags from it), not judged: a codec that drops the top
  octave of white noise loses loudness legitimately.

A reference below the BS.1770 absolute gate (-70 LUFS: near-silent) has
nothing audible to compare: bandwidth, mel distance and level are skipped
(``RenditionQA.skipped`` says so); frames, offset and bitrate still apply.

The limits were set from measurement (docs/transcode.md gives the numbers).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import ParameterError
from .gain import measure_loudness
from .rungs import ResolvedRung

__all__ = [
    "BANDWIDTH_DROP_DB",
    "EXPECTED_BANDWIDTH_HZ",
    "MEL_DISTANCE_LIMITS_DB",
    "LEVEL_TOLERANCE_DB",
    "OFFSET_TOLERANCE_FRAMES",
    "QA_MODES",
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
#: Largest |offset| accepted, frames, by codec. AAC and MP3: "time-aligned within one sample".
#: Opus: measured -2 to -5 samples on stereo speech (espeak-ng), pure tones and noise at 24-320 kbit/s
#: (SILK/hybrid modes and stereo coding shift the correlation peak), 0 on music; 8 keeps a margin while a
#: pre-skip or priming error (312 or more samples) still fails (docs/transcode.md).
OFFSET_TOLERANCE_FRAMES = {"opus": 8, "aac": 1, "mp3": 1, "flac": 0, "alac": 0}
#: ``full`` QA: the offset is checked in up to this many windows of FULL_WINDOW_FRAMES spread over the track.
FULL_WINDOWS = 8
FULL_WINDOW_FRAMES = 1 << 15
#: Each mel segment is floored this far below its own loudest band: a codec's noise beside a pure tone is
#: compared only where it comes within this range of it (Opus at 24 kbit/s stereo put a 5 kHz tone's mel
#: distance at 3.7 dB with a 60 dB range, 1.6 with 40; music and noise fill every band, unchanged by it).
SEGMENT_RANGE_DB = 40.0
#: Correlation peaks within this fraction of the highest count as ties, resolved toward lag 0: a periodic
#: signal (a pure tone) correlates equally at every period, and a shift by whole periods is unobservable.
PEAK_TIE_FRACTION = 0.05
#: Under this normalized correlation at the best lag the codec kept no waveform to align (Opus at 24 kbit/s
#: codes a 5 kHz tone parametrically: 0.24), and the offset check is skipped; intact encodes measure > 0.9.
MIN_ALIGNMENT_CORRELATION = 0.5
#: The level check ignores what lies under this: codecs high-pass (libopus rejects DC), and a tilted
#: spectrum's power piles up at its lowest bins (Opus measured -1.7 dB there on ladder test music).
LEVEL_FMIN_HZ = 40.0
#: Lossy rungs: power inside the codec's passband within this many dB of the reference's, by codec:
#: (minimum bitrate per channel in bits/s, dB), highest first: the calibration corpus's worst case times
#: 1.3 (Opus under 64 kbit/s per channel -1.6 dB on a 5 kHz tone and pink noise; AAC at 32 kbit/s per
#: channel 1.5 on a 1 kHz tone, above it 0.47 on white noise; MP3 0.58 on white noise), so that a level
#: fault of 3 dB fails every row.
LEVEL_TOLERANCE_DB = {
    "opus": ((64_000, 0.5), (0, 2.25)),
    "aac": ((48_000, 0.75), (0, 2.0)),
    "mp3": ((0, 1.0),),
}
#: QA levels of build_ladder: "off" (no decode), "fast" (every check on one decode in the encoder thread),
#: "full" ("fast", offsets across the whole track, and AAC level matching by re-encoding).
QA_MODES = ("off", "fast", "full")
#: Constant-bitrate rungs: measured payload bitrate within this fraction of the target.
BITRATE_TOLERANCE = 0.10
#: ABR/VBR rungs: measured payload bitrate at most this fraction over the target.
VARIABLE_BITRATE_OVERSHOOT = 0.25
#: ``full`` QA re-encodes AAC rungs at or above this bitrate whose loudness is off their master (ladder.py).
LOUDNESS_CHECK_MIN_BPS = 64_000
#: Expected bandwidth, Hz, by codec: (minimum bitrate per channel in bits/s, Hz), highest first.
EXPECTED_BANDWIDTH_HZ = {
    "opus": ((40_000, 18_000), (0, 16_000)),
    "aac": ((96_000, 18_000), (80_000, 17_000), (64_000, 16_500), (48_000, 15_000), (0, 11_000)),
    "mp3": ((160_000, 18_500), (96_000, 18_000), (64_000, 15_500), (0, 7_500)),
}
#: Mel distance limits, dB, by codec: (minimum bitrate per channel in bits/s, limit), highest first.
#: The worst case of benchmarks/qa_calibration.py's corpus (15 sources: music, 5.1, dense and quiet music,
#: white and pink noise, real and espeak-ng speech, pure tones, near-silence) times 1.3, rounded up to
#: 0.25 dB, at least 0.4 (docs/transcode.md); measured inside the passband only, so the limits of the
#: earlier whole-band calibration, which counted a codec's band limit here too, came down.
MEL_DISTANCE_LIMITS_DB = {
    "opus": ((80_000, 0.4), (48_000, 2.5), (32_000, 3.0), (0, 2.25)),
    "aac": ((96_000, 1.5), (80_000, 2.0), (64_000, 2.5), (48_000, 3.0), (0, 5.0)),
    "mp3": ((160_000, 0.5), (96_000, 0.5), (64_000, 0.75), (0, 1.0)),
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


def _mel_upper_edges_hz(sample_rate: int) -> np.ndarray:
    """Upper edge of each of the MEL_BANDS triangular mel filters, Hz."""
    import librosa

    fmax = min(MEL_FMAX_HZ, sample_rate / 2)
    return librosa.mel_frequencies(MEL_BANDS + 2, fmin=MEL_FMIN_HZ, fmax=fmax)[2:]


@dataclass(frozen=True, eq=False)
class Reference:
    """What renditions of one master are compared against; build with :meth:`of`."""

    #: the master, float32 [shape=(channels, frames)]
    samples: np.ndarray
    #: Hz
    sample_rate: int
    #: integrated loudness, LUFS (-inf when undefined: under the -70 LUFS absolute gate)
    integrated_lufs: float
    #: true peak, dBTP
    true_peak_dbtp: float
    #: log-mel spectra of MEL_SEGMENT_S segments, floored, dB [shape=(segments, MEL_BANDS)]
    mel_db: np.ndarray
    #: floor applied to each segment of a rendition's log-mel values, dB [shape=(segments, 1)]
    mel_floor_db: np.ndarray
    #: smoothed long-term spectrum, dB [shape=(n_fft // 2 + 1,)]
    spectrum_db: np.ndarray
    #: long-term power spectrum (mean of the STFT frames) [shape=(n_fft // 2 + 1,)]
    spectrum_power: np.ndarray
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
        floor = np.maximum(float(mel_db.max()) - MEL_FLOOR_DB, mel_db.max(axis=1, keepdims=True) - SEGMENT_RANGE_DB)
        spectrum = power.mean(axis=0)
        spectrum_db = _smoothed_db(spectrum)
        freqs = np.linspace(0.0, sample_rate / 2, power.shape[1])
        midband = spectrum_db[(freqs >= 200.0) & (freqs <= 4000.0)]
        has_content = spectrum_db >= np.median(midband) - CONTENT_FLOOR_DB
        bandwidth = float(freqs[np.flatnonzero(has_content)[-1]]) if has_content.any() else 0.0
        return cls(samples, sample_rate, integrated_lufs, true_peak_dbtp, np.maximum(mel_db, floor), floor,
                   spectrum_db, spectrum, has_content, bandwidth)


@dataclass(frozen=True)
class RenditionQA:
    """The measurements and verdicts of one rendition's QA."""

    #: "fast" or "full" (see QA_MODES)
    mode: str
    #: frames decoded by audiokit.read
    num_frames: int
    #: lag of the cross-correlation peak against the reference, frames (0 = aligned); in "full", the largest
    #: in magnitude over the windows checked
    offset_frames: int
    #: the largest |offset| the check accepted for this codec, frames
    offset_tolerance_frames: int
    #: payload bitrate (container overhead excluded), bits per second
    measured_bitrate_bps: int
    #: integrated loudness of the decoded rendition, LUFS (None when undefined)
    integrated_lufs: float | None
    #: its true peak, dBTP (None when undefined)
    true_peak_dbtp: float | None
    #: integrated loudness minus the reference's, LU (None when undefined); reported, not judged
    loudness_delta_lu: float | None
    #: power inside the codec's passband minus the reference's (and minus any gain applied on purpose), dB
    #: (None when skipped)
    level_delta_db: float | None
    #: effective bandwidth, Hz
    bandwidth_hz: float
    #: the bandwidth the check required, Hz
    expected_bandwidth_hz: float
    #: mean absolute log-mel difference from the reference inside the passband, dB
    mel_distance_db: float
    #: the limit the check applied, dB (0 for lossless: the check is bit-exactness)
    mel_distance_limit_db: float
    #: lossless rungs: decoded samples equal the reference quantized to the bit depth (None for lossy)
    bit_exact: bool | None
    #: one sentence per failed check; empty when the rendition passed
    failures: tuple[str, ...]
    #: one sentence per check that did not apply (e.g. a near-silent source); empty when every check ran
    skipped: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """True when no check failed."""
        return not self.failures

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict."""
        out = asdict(self)
        out["failures"] = list(self.failures)
        out["skipped"] = list(self.skipped)
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
        cross-correlated over +-:data:`MAX_LAG_FRAMES`; of the peaks within
        :data:`PEAK_TIE_FRACTION` of the highest, the one nearest lag 0 wins
        (periodic signals); silence gives 0.
    """
    return _middle_alignment(reference, decoded)[0]


def _middle_alignment(reference: np.ndarray, decoded: np.ndarray) -> tuple[int, float]:
    frames = min(reference.shape[1], decoded.shape[1])
    length = min(frames, ALIGNMENT_WINDOW_FRAMES)
    start = (frames - length) // 2
    return _window_alignment(reference[:, start:start + length], decoded[:, start:start + length])


def _window_alignment(reference: np.ndarray, decoded: np.ndarray) -> tuple[int, float]:
    """(lag, normalized correlation at that lag) of one window; (0, 1.0) for silence."""
    length = reference.shape[1]
    a = reference.sum(axis=0, dtype=np.float64)
    b = decoded.sum(axis=0, dtype=np.float64)
    if length < 2 or not (a.any() and b.any()):
        return 0, 1.0
    size = 1 << math.ceil(math.log2(length + MAX_LAG_FRAMES))
    correlation = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    max_lag = min(MAX_LAG_FRAMES, length - 1)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    values = np.concatenate([correlation[:max_lag + 1], correlation[size - max_lag:]])
    best = values.max()
    coefficient = float(best / math.sqrt(float(a @ a) * float(b @ b)))
    if best <= 0.0:
        return int(lags[np.argmax(values)]), coefficient
    ties = np.flatnonzero(values >= (1.0 - PEAK_TIE_FRACTION) * best)
    return int(lags[ties[np.argmin(np.abs(lags[ties]))]]), coefficient


def _windows_across(reference: np.ndarray, decoded: np.ndarray) -> list[tuple[int, float]]:
    """Alignments of up to FULL_WINDOWS windows spread evenly over the track (those with signal in both)."""
    frames = min(reference.shape[1], decoded.shape[1])
    length = min(frames, FULL_WINDOW_FRAMES)
    count = max(1, min(FULL_WINDOWS, frames // max(length, 1)))
    out = []
    for start in np.linspace(0, frames - length, count).astype(int):
        a, b = reference[:, start:start + length], decoded[:, start:start + length]
        if np.abs(a).max(initial=0.0) > 0.0 and np.abs(b).max(initial=0.0) > 0.0:
            out.append(_window_alignment(a, b))
    return out


def _quantized(samples: np.ndarray, bit_depth: int) -> np.ndarray:
    """``samples`` as the writer stores them at ``bit_depth``, back in float32."""
    full_scale = 2.0 ** (bit_depth - 1)
    steps = np.clip(np.round(samples.astype(np.float64) * full_scale), -full_scale, full_scale - 1)
    return (steps / full_scale).astype(np.float32)


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def check_rendition(decoded: np.ndarray, reference: Reference, resolved: ResolvedRung, *,
                    measured_bitrate_bps: int, mode: str = "fast",
                    loudness: tuple[float, float] | None = None, gain_db: float = 0.0) -> RenditionQA:
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
    mode : {"fast", "full"}
        ``full`` also checks the offset in windows across the whole track.
    loudness : (float, float), optional
        The rendition's (integrated LUFS, true peak dBTP) when already measured.
    gain_db : float
        Gain the encoder was fed on purpose over the reference (``full`` QA's
        AAC level match); the level check expects it.

    Returns
    -------
    RenditionQA

    Examples
    --------
    >>> import numpy as np
    >>> from audiokit.transcode.rungs import Rung, resolve_rung
    >>> master = np.zeros((1, 48000), np.float32)
    >>> flac = resolve_rung(Rung("f", "flac"), source_rate=48000, source_channels=1, source_bit_depth=16)
    >>> reference = Reference.of(master, 48000, integrated_lufs=-np.inf, true_peak_dbtp=-np.inf)
    >>> check_rendition(master, reference, flac, measured_bitrate_bps=0).skipped[0][:30]
    'bandwidth, mel distance, level'
    """
    if mode not in ("fast", "full"):
        raise ParameterError(f"mode is {mode!r}; expected 'fast' or 'full'")
    rung, spec = resolved.rung, resolved.spec
    failures, skipped = [], []
    expected_frames = reference.samples.shape[1]
    if decoded.shape != reference.samples.shape:
        failures.append(f"decoded shape {decoded.shape} != reference {reference.samples.shape} (frames must be exact)")
        length = min(decoded.shape[1], expected_frames)
        decoded_cmp, reference_cmp = decoded[:, :length], reference.samples[:, :length]
    else:
        decoded_cmp, reference_cmp = decoded, reference.samples
    tolerance = OFFSET_TOLERANCE_FRAMES[rung.codec]
    windows = [_middle_alignment(reference_cmp, decoded_cmp)]
    if mode == "full":
        windows += _windows_across(reference_cmp, decoded_cmp)
    measurable = [lag for lag, coefficient in windows if coefficient >= MIN_ALIGNMENT_CORRELATION]
    offset = max(measurable, key=abs) if measurable else 0
    if not measurable:
        skipped.append(f"offset: the codec did not keep the waveform (correlation {max(c for _, c in windows):.2f} "
                       f"at the best lag, under {MIN_ALIGNMENT_CORRELATION}): alignment is not measurable")
    elif abs(offset) > tolerance:
        failures.append(f"time offset {offset} frames against the source (tolerance {tolerance} for {rung.codec})")
    if not spec.lossless:
        error = measured_bitrate_bps / resolved.lossy_bitrate_bps - 1.0
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
    integrated, peak = loudness if loudness is not None else measure_loudness(decoded, resolved.sample_rate)
    delta = integrated - reference.integrated_lufs
    bit_exact = None
    if spec.lossless:
        bit_exact = bool(np.array_equal(decoded_cmp, _quantized(reference_cmp, resolved.lossless_bit_depth)))
        if not bit_exact:
            failures.append(f"lossless rendition is not bit-exact at {resolved.bit_depth} bits")
    power = _stft_power(decoded_cmp, resolved.sample_rate)
    spectrum = power.mean(axis=0)
    spectrum_db = _smoothed_db(spectrum)
    freqs = np.linspace(0.0, resolved.sample_rate / 2, power.shape[1])
    in_band = (spectrum_db >= reference.spectrum_db - BANDWIDTH_DROP_DB) & reference.has_content
    bandwidth = float(freqs[np.flatnonzero(in_band)[-1]]) if in_band.any() else 0.0
    if spec.lossless:
        expected_bandwidth, mel_limit = reference.bandwidth_hz, 0.0
    else:
        per_channel = resolved.lossy_bitrate_bps / resolved.num_channels
        expected_bandwidth = min(_lookup(EXPECTED_BANDWIDTH_HZ[rung.codec], per_channel),
                                 REFERENCE_BANDWIDTH_FRACTION * reference.bandwidth_hz)
        mel_limit = _lookup(MEL_DISTANCE_LIMITS_DB[rung.codec], per_channel)
    # The passband: mel bands and spectrum bins up to the bandwidth the codec is expected to keep.
    passband_hz = expected_bandwidth if not spec.lossless else resolved.sample_rate / 2
    bands = _mel_upper_edges_hz(resolved.sample_rate) <= max(passband_hz, 1.0)
    bands[0] = True
    mel_db = _segment_mel_db(power, resolved.sample_rate)
    mel_db = np.maximum(mel_db, reference.mel_floor_db[: mel_db.shape[0]])
    # Reported to 0.0001 dB: the float32 BLAS products above sum in an order that depends on the
    # thread count, which moves the last bits, and a manifest must not depend on where it was made.
    mel_distance = round(float(np.abs(mel_db - reference.mel_db[: mel_db.shape[0]])[:, bands].mean()), 4)
    bins = (freqs >= LEVEL_FMIN_HZ) & (freqs <= passband_hz) & reference.has_content
    reference_power = float(reference.spectrum_power[bins].sum(dtype=np.float64))
    level_delta = None
    if not math.isfinite(reference.integrated_lufs):
        skipped.append("bandwidth, mel distance, level: the source is under the BS.1770 absolute gate "
                       "(-70 LUFS), nothing audible to compare")
    else:
        if reference_power > 0:
            level_delta = round(10.0 * math.log10(max(float(spectrum[bins].sum(dtype=np.float64)), 1e-30)
                                                  / reference_power) - gain_db, 4)
            level_limit = 0.0 if spec.lossless else _lookup(LEVEL_TOLERANCE_DB[rung.codec], per_channel)
            if not spec.lossless and abs(level_delta) > level_limit:
                failures.append(f"level {level_delta:+.2f} dB off the source inside the {passband_hz:.0f} Hz "
                                f"passband (tolerance {level_limit} dB)")
        if not spec.lossless and mel_distance > mel_limit:
            failures.append(f"mel distance {mel_distance:.2f} dB over the {mel_limit} dB limit for {rung.codec} "
                            f"at {resolved.bitrate_bps} bit/s")
        if bandwidth < expected_bandwidth:
            failures.append(f"bandwidth {bandwidth:.0f} Hz under the expected {expected_bandwidth:.0f} Hz")
    return RenditionQA(
        mode=mode,
        num_frames=decoded.shape[1],
        offset_frames=offset,
        offset_tolerance_frames=tolerance,
        measured_bitrate_bps=int(measured_bitrate_bps),
        integrated_lufs=_finite(integrated),
        true_peak_dbtp=_finite(peak),
        loudness_delta_lu=_finite(delta) if math.isfinite(integrated) else None,
        level_delta_db=level_delta,
        bandwidth_hz=bandwidth,
        expected_bandwidth_hz=float(expected_bandwidth),
        mel_distance_db=mel_distance,
        mel_distance_limit_db=mel_limit,
        bit_exact=bit_exact,
        failures=tuple(failures),
        skipped=tuple(skipped),
    )
