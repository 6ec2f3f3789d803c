"""Rendition QA: measurements of a decoded rendition against what was encoded.

Every rendition is decoded back, block by block, and compared with its
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

QA streams, so that a ladder never holds a whole master or rendition:
:class:`ReferenceAnalysis` is fed the master block by block and keeps, per
0.25 s segment, its log-mel spectrum (64 float32), a running long-term
spectrum, the channel sums of the alignment windows (placed from the master's
known length) and, for lossless rungs, a SHA-256 digest of the master
quantized to their bit depth; :class:`RenditionAnalysis` is fed the decoded
rendition, compares each mel segment as it completes and keeps running sums
only. The STFT frames a stream exactly as it frames the whole array, so
results do not depend on how the signals are split into blocks (beyond float
rounding, under the 0.0001 dB the mel distance and level are reported to).
:meth:`Reference.of` and :func:`check_rendition` are the whole-array forms.

The limits were set from measurement (docs/transcode.md gives the numbers).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .._arrays import BLOCK_FRAMES, as_samples, check_finite, check_sample_rate
from .._mel import mel_filters, mel_frequencies
from ..errors import ParameterError
from .gain import ProgrammeLoudness
from .ladders import QA_MODES
from .rungs import ResolvedRung

if TYPE_CHECKING:
    from scipy.sparse import csr_array

__all__ = [
    "BANDWIDTH_DROP_DB",
    "EXPECTED_BANDWIDTH_HZ",
    "MEL_DISTANCE_LIMITS_DB",
    "LEVEL_TOLERANCE_DB",
    "OFFSET_TOLERANCE_FRAMES",
    "AlignmentWindow",
    "Reference",
    "ReferenceAnalysis",
    "RenditionAnalysis",
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
#: STFT frames transformed at once: few enough that a batch's temporaries stay in cache (5 minutes of
#: 48 kHz stereo in 65536-frame blocks, median of 7 interleaved runs: 0.20 CPU s at 8, 0.17 at 16,
#: 0.35-0.38 at 32-128 on this 2-core VM).
STFT_BATCH_FRAMES = 16
#: Smaller blocks are joined until they reach this many frames before they are analysed, so that the
#: per-call overhead stays small whatever block sizes a decoder or resampler hands over.
MIN_ANALYSIS_FRAMES = 16384
#: Cross-correlation window and largest lag searched, frames.
ALIGNMENT_WINDOW_FRAMES = 1 << 17
MAX_LAG_FRAMES = 4096
#: Largest |offset| accepted, frames, by codec. AAC and MP3: "time-aligned within one sample".
#: Opus: -2 to -3 samples at 24 kbit/s stereo on espeak-ng speech, pink noise and a 5 kHz tone, 0 on every
#: other calibration row (benchmarks/results/qa_calibration.json; SILK/hybrid modes and stereo coding shift
#: the correlation peak); the earlier corpus measured up to -5 on noise; 8 keeps a margin while a
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
#: The worst case of benchmarks/qa_calibration.py's corpus (14 sources: music, 5.1, dense and quiet music,
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


def _stft_frame_count(num_frames: int, n_fft: int) -> int:
    """STFT frames of a signal: at multiples of the hop from 0, a signal shorter than one frame padded to one."""
    return 1 + (max(num_frames, n_fft) - n_fft) // (n_fft // 2)


def _segment_stft_frames(stft_frames: int, sample_rate: int, n_fft: int) -> int:
    """STFT frames averaged per MEL_SEGMENT_S segment (all of them when the signal is shorter than one)."""
    hop_s = (n_fft // 2) / sample_rate
    return min(stft_frames, max(1, round(MEL_SEGMENT_S / hop_s)))


@lru_cache(maxsize=16)
def _mel_basis(sample_rate: int, n_fft: int) -> csr_array:
    """Mel filterbank, float32, sparse (each bin feeds at most two filters) [shape=(MEL_BANDS, n_fft // 2 + 1)].

    A sparse product runs in the calling thread: the dense one goes to a
    multithreaded BLAS, which several encoder threads' QA at once oversubscribes.
    """
    from scipy.sparse import csr_array

    fmax = min(MEL_FMAX_HZ, sample_rate / 2)
    return csr_array(mel_filters(sample_rate, n_fft, MEL_BANDS, fmin_hz=MEL_FMIN_HZ, fmax_hz=fmax))


def _mel_upper_edges_hz(sample_rate: int) -> np.ndarray:
    """Upper edge of each of the MEL_BANDS triangular mel filters, Hz."""
    fmax = min(MEL_FMAX_HZ, sample_rate / 2)
    return mel_frequencies(MEL_BANDS + 2, fmin_hz=MEL_FMIN_HZ, fmax_hz=fmax)[2:]


def _smoothed_db(power: np.ndarray) -> np.ndarray:
    kernel = np.ones(SMOOTHING_BINS) / SMOOTHING_BINS
    return 10.0 * np.log10(np.convolve(power, kernel, mode="same") + 1e-30)


def _middle_window(frames: int) -> tuple[int, int]:
    """(start, length) of the ALIGNMENT_WINDOW_FRAMES window in the middle of ``frames``."""
    length = min(frames, ALIGNMENT_WINDOW_FRAMES)
    return (frames - length) // 2, length


def _windows_across(frames: int) -> list[tuple[int, int]]:
    """(start, length) of up to FULL_WINDOWS windows of FULL_WINDOW_FRAMES spread evenly over ``frames``."""
    length = min(frames, FULL_WINDOW_FRAMES)
    count = max(1, min(FULL_WINDOWS, frames // max(length, 1)))
    return [(int(start), length) for start in np.linspace(0, frames - length, count).astype(int)]


def _checked_block(block: np.ndarray, num_channels: int | None) -> np.ndarray:
    """``block`` as float32 (channels, frames), finite, with ``num_channels`` rows when that is known."""
    block = as_samples(block, name="block")
    if num_channels is not None and block.shape[0] != num_channels:
        raise ParameterError(f"block has {block.shape[0]} channels; the earlier blocks of this signal had "
                             f"{num_channels}. Feed one signal per analysis")
    check_finite(block, name="block")
    return block


def _canonical_bytes(samples: np.ndarray) -> np.ndarray:
    """Frames interleaved, float32, -0.0 as 0.0: bytes that depend neither on block boundaries nor on zero's sign."""
    return np.ascontiguousarray((samples + np.float32(0.0)).T)


def _quantized(samples: np.ndarray, bit_depth: int) -> np.ndarray:
    """``samples`` as the writer stores them at ``bit_depth``, back in float32."""
    full_scale = 2.0 ** (bit_depth - 1)
    steps = np.clip(np.round(samples.astype(np.float64) * full_scale), -full_scale, full_scale - 1)
    return (steps / full_scale).astype(np.float32)


class _Gatherer:
    """Joins blocks shorter than MIN_ANALYSIS_FRAMES; a longer block with nothing waiting passes through."""

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = []
        self._frames = 0

    def add(self, block: np.ndarray) -> np.ndarray | None:
        """The block to analyse now, or None while the joined blocks are still short."""
        if not self._parts and block.shape[1] >= MIN_ANALYSIS_FRAMES:
            return block
        self._parts.append(block.copy())  # the caller may reuse its block
        self._frames += block.shape[1]
        return self.rest() if self._frames >= MIN_ANALYSIS_FRAMES else None

    def rest(self) -> np.ndarray | None:
        """Whatever is waiting, joined (None when nothing is)."""
        if not self._parts:
            return None
        joined = self._parts[0] if len(self._parts) == 1 else np.concatenate(self._parts, axis=1)
        self._parts, self._frames = [], 0
        return joined


class _Spectrogram:
    """Streaming STFT: channel-mean power of Hann-windowed frames at multiples of the hop from frame 0.

    Frames exactly as a whole-array STFT would: the samples after the last
    complete frame are dropped, and a signal shorter than one frame is
    zero-padded to one (:meth:`finish`). Holds under one frame of samples.
    """

    def __init__(self, sample_rate: int) -> None:
        from scipy.fft import rfft  # float32 to complex64; 0.04 CPU s per minute of stereo here, numpy's 0.07

        self._rfft = rfft
        self.n_fft = _frame_length(sample_rate)
        self.hop = self.n_fft // 2
        self._window = np.hanning(self.n_fft).astype(np.float32)
        self._carry: np.ndarray | None = None  # samples from the next frame's start on
        self._frames = 0

    def add(self, block: np.ndarray) -> np.ndarray:
        """Power of the frames this block completes, float32 [shape=(frames, n_fft // 2 + 1)]."""
        buffer = block if self._carry is None else np.concatenate([self._carry, block], axis=1)
        count = 0 if buffer.shape[1] < self.n_fft else 1 + (buffer.shape[1] - self.n_fft) // self.hop
        out = np.empty((count, self.n_fft // 2 + 1), np.float32)
        for start in range(0, count, STFT_BATCH_FRAMES):
            stop = min(count, start + STFT_BATCH_FRAMES)
            frames = np.lib.stride_tricks.sliding_window_view(
                buffer[:, start * self.hop:(stop - 1) * self.hop + self.n_fft], self.n_fft, axis=1)[:, ::self.hop]
            spectrum = self._rfft(frames * self._window, axis=-1, overwrite_x=True)
            power = np.square(spectrum.real)
            power += np.square(spectrum.imag)
            np.add.reduce(power, axis=0, out=out[start:stop])
        out /= buffer.shape[0]  # the channel mean
        self._carry = buffer[:, count * self.hop:].copy()  # the caller may reuse its block
        self._frames += count
        return out

    def finish(self) -> np.ndarray:
        """The one zero-padded frame of a signal shorter than a frame; otherwise no frame."""
        if self._frames:
            return np.empty((0, self.n_fft // 2 + 1), np.float32)
        carry = self._carry if self._carry is not None else np.zeros((1, 0), np.float32)
        padded = np.pad(carry, ((0, 0), (0, self.n_fft - carry.shape[1])))
        self._carry = None
        return self.add(padded)


class _MelSegments:
    """Log-mel spectra of successive segments of ``per_segment`` STFT frames, as the frames arrive."""

    def __init__(self, sample_rate: int, n_fft: int, per_segment: int) -> None:
        self._basis = _mel_basis(sample_rate, n_fft)
        self.per_segment = per_segment
        self._pending = np.empty((0, MEL_BANDS), np.float32)

    def add(self, power: np.ndarray) -> np.ndarray:
        """Log-mel dB of the segments these frames complete, float32 [shape=(segments, MEL_BANDS)]."""
        mel = (self._basis @ np.ascontiguousarray(power.T)).T
        if self._pending.shape[0]:
            mel = np.concatenate([self._pending, mel])
        count = mel.shape[0] // self.per_segment
        self._pending = mel[count * self.per_segment:]
        segments = mel[:count * self.per_segment].reshape(count, self.per_segment, MEL_BANDS).mean(axis=1)
        return 10.0 * np.log10(segments + 1e-30)

    def partial(self) -> np.ndarray:
        """Log-mel dB of the frames of an incomplete segment as one segment (none when there are none)."""
        if not self._pending.shape[0]:
            return np.empty((0, MEL_BANDS), np.float32)
        return 10.0 * np.log10(self._pending.mean(axis=0, keepdims=True) + 1e-30)


class _WindowTaps:
    """Channel sums (float64) of fixed frame ranges of a stream, and whether each range holds signal."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        self.spans = spans
        self.sums = [np.zeros(length) for _, length in spans]
        self.peaks = [0.0] * len(spans)
        self._position = 0

    def add(self, block: np.ndarray) -> None:
        first, last = self._position, self._position + block.shape[1]
        for index, (start, length) in enumerate(self.spans):
            low, high = max(start, first), min(start + length, last)
            if low < high:
                part = block[:, low - first:high - first]
                self.sums[index][low - start:high - start] = part.sum(axis=0, dtype=np.float64)
                self.peaks[index] = max(self.peaks[index], float(part.max()), -float(part.min()))
        self._position = last

    def covered(self, index: int) -> int:
        """Frames of window ``index`` the stream has reached."""
        start, length = self.spans[index]
        return min(max(self._position - start, 0), length)


@dataclass(frozen=True, eq=False)
class AlignmentWindow:
    """A stretch of the master that renditions are cross-correlated against."""

    #: first frame
    start: int
    #: the master's channels summed, float64 [shape=(length,)]
    channel_sum: np.ndarray
    #: whether any sample of the stretch is nonzero
    has_signal: bool


@dataclass(frozen=True, eq=False)
class Reference:
    """What renditions of one master are compared against.

    Built by :class:`ReferenceAnalysis` from the master's blocks, or by
    :meth:`of` from a whole array. It holds summaries, not the master: its size
    grows by about 1 KB per second of master (the mel segments).
    """

    #: Hz
    sample_rate: int
    #: the master's channel count
    num_channels: int
    #: the master's length, frames
    num_frames: int
    #: the QA mode it was analysed for: "off" holds loudness and peaks only, "full" the windows across the track
    mode: str
    #: integrated loudness, LUFS (-inf when undefined: under the -70 LUFS absolute gate)
    integrated_lufs: float
    #: true peak, dBTP
    true_peak_dbtp: float
    #: largest absolute sample over all channels (linear; above 1.0 the master is over full scale)
    sample_peak: float
    #: STFT frames averaged per mel segment
    segment_stft_frames: int
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
    #: the middle window ("fast" and "full"), then the windows across the track ("full")
    windows: tuple[AlignmentWindow, ...]
    #: lossless rungs: bit depth -> SHA-256 of the master quantized to it (interleaved float32)
    lossless_digests: Mapping[int, str]

    @classmethod
    def of(cls, samples: np.ndarray, sample_rate: int, *, integrated_lufs: float | None = None,
           true_peak_dbtp: float | None = None, mode: str = "full",
           bit_depths: tuple[int, ...] = (16, 24)) -> Reference:
        """Analyse a whole master once for all the renditions encoded from it.

        Parameters
        ----------
        samples : np.ndarray [shape=(channels, frames), dtype=float32]
        sample_rate : int
        integrated_lufs, true_peak_dbtp : float, optional
            The master's loudness when already measured
            (:func:`~audiokit.transcode.gain.measure_loudness`); measured here otherwise.
        mode : {"full", "fast", "off"}
            The QA the reference serves (see :class:`ReferenceAnalysis`).
        bit_depths : tuple of int
            Depths of the lossless rungs to check: by default the two
            :func:`~audiokit.transcode.rungs.resolve_rung` gives (16 and 24).

        Returns
        -------
        Reference
        """
        samples = as_samples(samples)
        if (integrated_lufs is None) != (true_peak_dbtp is None):
            raise ParameterError("pass both integrated_lufs and true_peak_dbtp, or neither (both are then measured)")
        loudness = None if integrated_lufs is None or true_peak_dbtp is None else (integrated_lufs, true_peak_dbtp)
        analysis = ReferenceAnalysis(sample_rate, samples.shape[0], expected_frames=samples.shape[1], mode=mode,
                                     bit_depths=bit_depths, loudness=loudness)
        for start in range(0, samples.shape[1], BLOCK_FRAMES):
            analysis.add(samples[:, start:start + BLOCK_FRAMES])
        return analysis.finish()


def _checked_mode(mode: str, allowed: tuple[str, ...]) -> str:
    if mode not in allowed:
        raise ParameterError(f"mode is {mode!r}; expected {' or '.join(repr(m) for m in allowed)}")
    return mode


def _reading(meter: ProgrammeLoudness | None) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a meter; -inf for a signal that had no block."""
    return meter.flush() if meter is not None else (-math.inf, -math.inf)


class ReferenceAnalysis:
    """The analysis of one master, fed block by block; :meth:`finish` gives its :class:`Reference`.

    Memory does not grow with the master's length beyond the mel segments
    (64 float32 per :data:`MEL_SEGMENT_S`: about 3.7 MB per hour) and the
    loudness meter's 100 ms energies (8 bytes each: about 0.29 MB per hour).

    Parameters
    ----------
    sample_rate : int
        Hz.
    num_channels : int
    expected_frames : int
        The master's exact length, frames: it places the alignment windows
        before the samples arrive; :meth:`finish` checks it.
    mode : {"off", "fast", "full"}
        "off": loudness and peaks only (the gain tags need them); "fast":
        also what every check needs, with one alignment window in the middle;
        "full": also :data:`FULL_WINDOWS` windows across the track.
    bit_depths : tuple of int
        Depths of the lossless rungs encoded from this master: a digest of
        the master quantized to each is kept for their bit-exactness check.
    loudness : (float, float), optional
        The master's (integrated LUFS, true peak dBTP) when measured
        elsewhere; the analysis then runs no loudness meter.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(48000 * 3) / 48000
    >>> master = np.tile(0.1 * np.sin(2 * np.pi * 1000 * t), (2, 1)).astype(np.float32)
    >>> analysis = ReferenceAnalysis(48000, 2, expected_frames=master.shape[1], mode="fast")
    >>> for start in range(0, master.shape[1], 10000):
    ...     analysis.add(master[:, start:start + 10000])
    >>> reference = analysis.finish()
    >>> round(reference.integrated_lufs, 1), round(reference.sample_peak, 3), reference.mel_db.shape
    (-20.0, 0.1, (11, 64))
    """

    def __init__(self, sample_rate: int, num_channels: int, *, expected_frames: int, mode: str,
                 bit_depths: tuple[int, ...] = (), loudness: tuple[float, float] | None = None) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        if isinstance(num_channels, bool) or not isinstance(num_channels, (int, np.integer)) or num_channels < 1:
            raise ParameterError(f"num_channels is {num_channels!r}; expected a positive integer")
        if isinstance(expected_frames, bool) or not isinstance(expected_frames, (int, np.integer)) \
                or expected_frames < 0:
            raise ParameterError(f"expected_frames is {expected_frames!r}; expected the master's length in frames")
        for depth in bit_depths:
            if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or not 8 <= depth <= 32:
                raise ParameterError(f"bit_depths holds {depth!r}; expected integer depths from 8 to 32")
        self.num_channels = int(num_channels)
        self.expected_frames = int(expected_frames)
        self.mode = _checked_mode(mode, QA_MODES)
        self._loudness = loudness
        self._meter = ProgrammeLoudness(self.sample_rate, self.num_channels) if loudness is None else None
        self._sample_peak = 0.0
        self._position = 0
        self._gatherer = _Gatherer()
        if self.mode == "off":
            return
        self._spectrogram = _Spectrogram(self.sample_rate)
        n_fft = self._spectrogram.n_fft
        stft_frames = _stft_frame_count(self.expected_frames, n_fft)
        self._segments = _MelSegments(self.sample_rate, n_fft,
                                      _segment_stft_frames(stft_frames, self.sample_rate, n_fft))
        self._mel_db = np.empty((stft_frames // self._segments.per_segment, MEL_BANDS), np.float32)
        self._segment_count = 0
        self._power_sum = np.zeros(n_fft // 2 + 1)
        self._power_frames = 0
        spans = [_middle_window(self.expected_frames)]
        if self.mode == "full":
            spans += _windows_across(self.expected_frames)
        self._windows = _WindowTaps(spans)
        self._digests = {int(depth): hashlib.sha256() for depth in bit_depths}

    def add(self, block: np.ndarray) -> None:
        """Add the next block of the master.

        Parameters
        ----------
        block : np.ndarray [shape=(channels, frames), dtype=float32]
            Any number of frames (0 included); finite.
        """
        block = _checked_block(block, self.num_channels)
        if self._position + block.shape[1] > self.expected_frames:
            raise ParameterError(f"this block takes the master to {self._position + block.shape[1]} frames, past "
                                 f"expected_frames={self.expected_frames}; pass the master's exact length")
        if not block.shape[1]:
            return
        self._position += block.shape[1]
        joined = self._gatherer.add(block)
        if joined is not None:
            self._analyse(joined)

    def _analyse(self, block: np.ndarray) -> None:
        if self._meter is not None:
            self._meter.process(block)
        self._sample_peak = max(self._sample_peak, float(block.max()), -float(block.min()))
        if self.mode == "off":
            return
        self._add_power(self._spectrogram.add(block))
        self._windows.add(block)
        for depth, digest in self._digests.items():
            digest.update(_canonical_bytes(_quantized(block, depth)).data)

    def _add_power(self, power: np.ndarray) -> None:
        self._power_sum += power.sum(axis=0, dtype=np.float64)
        self._power_frames += power.shape[0]
        segments = self._segments.add(power)
        self._mel_db[self._segment_count:self._segment_count + segments.shape[0]] = segments
        self._segment_count += segments.shape[0]

    def finish(self) -> Reference:
        """The :class:`Reference` of everything added.

        Raises
        ------
        ParameterError
            If the master's length differs from ``expected_frames``.
        """
        if self._position != self.expected_frames:
            raise ParameterError(f"the master has {self._position} frames; expected_frames said "
                                 f"{self.expected_frames}. Pass its exact length")
        rest = self._gatherer.rest()
        if rest is not None:
            self._analyse(rest)
        integrated_lufs, true_peak_dbtp = self._loudness or _reading(self._meter)
        spectrum = spectrum_db = np.empty(0)
        mel_db, floor = np.empty((0, MEL_BANDS), np.float32), np.empty((0, 1), np.float32)
        has_content, bandwidth, per_segment, digests = np.empty(0, bool), 0.0, 0, {}
        windows: tuple[AlignmentWindow, ...] = ()
        if self.mode != "off":
            self._add_power(self._spectrogram.finish())
            mel_db = self._mel_db[:self._segment_count]
            floor = np.maximum(float(mel_db.max()) - MEL_FLOOR_DB,
                               mel_db.max(axis=1, keepdims=True) - SEGMENT_RANGE_DB)
            mel_db = np.maximum(mel_db, floor)
            spectrum = self._power_sum / self._power_frames
            spectrum_db = _smoothed_db(spectrum)
            freqs = np.linspace(0.0, self.sample_rate / 2, spectrum.shape[0])
            midband = spectrum_db[(freqs >= 200.0) & (freqs <= 4000.0)]
            has_content = spectrum_db >= np.median(midband) - CONTENT_FLOOR_DB
            bandwidth = float(freqs[np.flatnonzero(has_content)[-1]]) if has_content.any() else 0.0
            taps = self._windows
            windows = tuple(AlignmentWindow(start, taps.sums[index], taps.peaks[index] > 0.0)
                            for index, (start, _) in enumerate(taps.spans))
            per_segment = self._segments.per_segment
            digests = {depth: digest.hexdigest() for depth, digest in self._digests.items()}
        return Reference(
            sample_rate=self.sample_rate,
            num_channels=self.num_channels,
            num_frames=self._position,
            mode=self.mode,
            integrated_lufs=float(integrated_lufs),
            true_peak_dbtp=float(true_peak_dbtp),
            sample_peak=self._sample_peak,
            segment_stft_frames=per_segment,
            mel_db=mel_db,
            mel_floor_db=floor,
            spectrum_db=spectrum_db,
            spectrum_power=spectrum,
            has_content=has_content,
            bandwidth_hz=bandwidth,
            windows=windows,
            lossless_digests=digests,
        )


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
    start, length = _middle_window(min(reference.shape[1], decoded.shape[1]))
    return _window_alignment(reference[:, start:start + length].sum(axis=0, dtype=np.float64),
                             decoded[:, start:start + length].sum(axis=0, dtype=np.float64))[0]


def _window_alignment(a: np.ndarray, b: np.ndarray) -> tuple[int, float]:
    """(lag, normalized correlation at that lag) of two channel sums; (0, 1.0) for silence."""
    length = a.shape[0]
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


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


class RenditionAnalysis:
    """The QA of one decoded rendition, fed block by block; :meth:`finish` gives its :class:`RenditionQA`.

    Each mel segment is compared with the reference's as it completes and the
    long-term spectrum is a running sum, so memory stays bounded (the
    alignment windows, under one STFT frame of samples, and the loudness
    meter's 100 ms energies grow by 0.29 MB per hour) whatever the length. Samples past the reference's length
    are metered but not compared (the frames check fails them).

    Parameters
    ----------
    reference : Reference
        The master's, analysed for ``mode`` or more.
    resolved : ResolvedRung
        The rung encoded; its sample rate is the reference's.
    mode : {"fast", "full"}
        ``full`` also checks the offset in windows across the whole track.
    loudness : (float, float), optional
        The rendition's (integrated LUFS, true peak dBTP) when measured
        elsewhere; the analysis then runs no loudness meter.

    Examples
    --------
    >>> import numpy as np
    >>> from audiokit.transcode.rungs import Rung, resolve_rung
    >>> master = np.zeros((1, 48000), np.float32)
    >>> flac = resolve_rung(Rung("f", "flac"), source_rate=48000, source_channels=1, source_bit_depth=16)
    >>> reference = ReferenceAnalysis(48000, 1, expected_frames=48000, mode="fast", bit_depths=(16,))
    >>> reference.add(master)
    >>> analysis = RenditionAnalysis(reference.finish(), flac, mode="fast")
    >>> for start in range(0, 48000, 4096):
    ...     analysis.add(master[:, start:start + 4096])
    >>> qa = analysis.finish(measured_bitrate_bps=0)
    >>> qa.bit_exact, qa.passed
    (True, True)
    """

    def __init__(self, reference: Reference, resolved: ResolvedRung, *, mode: str,
                 loudness: tuple[float, float] | None = None) -> None:
        self.mode = _checked_mode(mode, ("fast", "full"))
        if reference.mode == "off" or (self.mode == "full" and reference.mode != "full"):
            raise ParameterError(f"the reference was analysed with mode={reference.mode!r}; {self.mode!r} QA "
                                 f"needs a ReferenceAnalysis made with mode={self.mode!r} or 'full'")
        if resolved.sample_rate != reference.sample_rate:
            raise ParameterError(f"rung {resolved.rung.name!r} is at {resolved.sample_rate} Hz; its reference at "
                                 f"{reference.sample_rate} Hz. Analyse the master the rung was encoded from")
        self.reference, self.resolved = reference, resolved
        self._loudness = loudness
        self._meter: ProgrammeLoudness | None = None
        self._num_channels: int | None = None
        self._position = 0
        self._analysed = 0
        self._gatherer = _Gatherer()
        spec = resolved.spec
        if spec.lossless:
            depth = resolved.lossless_bit_depth
            if depth not in reference.lossless_digests:
                raise ParameterError(f"the reference holds no digest at {depth} bits for lossless rung "
                                     f"{resolved.rung.name!r}; pass bit_depths=({depth},) to its ReferenceAnalysis")
            self.expected_bandwidth_hz, self.mel_limit_db = reference.bandwidth_hz, 0.0
            # The passband: mel bands and spectrum bins up to the bandwidth the codec is expected to keep.
            self.passband_hz = reference.sample_rate / 2
        else:
            self._per_channel = resolved.lossy_bitrate_bps / resolved.num_channels
            self.expected_bandwidth_hz = min(_lookup(EXPECTED_BANDWIDTH_HZ[resolved.rung.codec], self._per_channel),
                                             REFERENCE_BANDWIDTH_FRACTION * reference.bandwidth_hz)
            self.mel_limit_db = _lookup(MEL_DISTANCE_LIMITS_DB[resolved.rung.codec], self._per_channel)
            self.passband_hz = self.expected_bandwidth_hz
        self._bands = _mel_upper_edges_hz(reference.sample_rate) <= max(self.passband_hz, 1.0)
        self._bands[0] = True
        self._digest = hashlib.sha256() if spec.lossless else None
        self._spectrogram = _Spectrogram(reference.sample_rate)
        self._segments = _MelSegments(reference.sample_rate, self._spectrogram.n_fft, reference.segment_stft_frames)
        self._segment_count = 0
        self._mel_sum = 0.0
        self._mel_values = 0
        self._power_sum = np.zeros(self._spectrogram.n_fft // 2 + 1)
        self._power_frames = 0
        windows = reference.windows if self.mode == "full" else reference.windows[:1]
        self._windows = _WindowTaps([(window.start, window.channel_sum.shape[0]) for window in windows])

    def add(self, block: np.ndarray) -> None:
        """Add the next block of the decoded rendition.

        Parameters
        ----------
        block : np.ndarray [shape=(channels, frames), dtype=float32]
            Any number of frames (0 included); finite.
        """
        block = _checked_block(block, self._num_channels)
        if self._num_channels is None:
            self._num_channels = block.shape[0]
            if self._loudness is None:
                self._meter = ProgrammeLoudness(self.reference.sample_rate, block.shape[0])
        self._position += block.shape[1]
        joined = self._gatherer.add(block) if block.shape[1] else None
        if joined is not None:
            self._analyse(joined)

    def _analyse(self, block: np.ndarray) -> None:
        if self._meter is not None:
            self._meter.process(block)
        compared = block[:, :max(0, self.reference.num_frames - self._analysed)]
        self._analysed += block.shape[1]
        if not compared.shape[1]:
            return
        self._add_power(self._spectrogram.add(compared))
        self._windows.add(compared)
        if self._digest is not None:
            self._digest.update(_canonical_bytes(compared).data)

    def _add_power(self, power: np.ndarray) -> None:
        self._power_sum += power.sum(axis=0, dtype=np.float64)
        self._power_frames += power.shape[0]
        self._compare(self._segments.add(power))

    def _compare(self, mel_db: np.ndarray) -> None:
        """Accumulate the distance of these log-mel segments from the reference's."""
        first = self._segment_count
        last = first + mel_db.shape[0]
        reference = self.reference
        floored = np.maximum(mel_db, reference.mel_floor_db[first:last])
        difference = np.abs(floored - reference.mel_db[first:last])[:, self._bands]
        self._mel_sum += float(difference.sum(dtype=np.float64))
        self._mel_values += difference.size
        self._segment_count = last

    def finish(self, *, measured_bitrate_bps: int, gain_db: float = 0.0) -> RenditionQA:
        """Judge the rendition.

        Parameters
        ----------
        measured_bitrate_bps : int
            Payload bitrate from :func:`audiokit.probe`.
        gain_db : float
            Gain the encoder was fed on purpose over the reference (``full``
            QA's AAC level match); the level check expects it.

        Returns
        -------
        RenditionQA
        """
        rest = self._gatherer.rest()
        if rest is not None:
            self._analyse(rest)
        self._add_power(self._spectrogram.finish())
        if not self._segment_count:  # shorter than one segment of the reference: its frames are the segment
            self._compare(self._segments.partial())
        reference, resolved = self.reference, self.resolved
        rung, spec = resolved.rung, resolved.spec
        failures, skipped = [], []
        shape = (self._num_channels or 0, self._position)
        if shape != (reference.num_channels, reference.num_frames):
            failures.append(f"decoded shape {shape} != reference {(reference.num_channels, reference.num_frames)} "
                            "(frames must be exact)")
        tolerance = OFFSET_TOLERANCE_FRAMES[rung.codec]
        taps = self._windows
        windows = []
        for index, window in enumerate(reference.windows[:len(taps.spans)]):
            covered = taps.covered(index)
            if index == 0 or (window.has_signal and taps.peaks[index] > 0.0):
                windows.append(_window_alignment(window.channel_sum[:covered], taps.sums[index][:covered]))
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
                    f"measured bitrate {measured_bitrate_bps} bit/s is {error:+.1%} off the {resolved.bitrate_bps} "
                    f"target (tolerance {BITRATE_TOLERANCE:.0%})"
                )
            elif error > VARIABLE_BITRATE_OVERSHOOT:
                failures.append(
                    f"measured bitrate {measured_bitrate_bps} bit/s is {error:+.1%} over the {resolved.bitrate_bps} "
                    f"target (at most +{VARIABLE_BITRATE_OVERSHOOT:.0%})"
                )
        integrated, peak = self._loudness or _reading(self._meter)
        delta = integrated - reference.integrated_lufs
        bit_exact = None
        if self._digest is not None:
            depth = resolved.lossless_bit_depth
            bit_exact = (shape == (reference.num_channels, reference.num_frames)
                         and self._digest.hexdigest() == reference.lossless_digests[depth])
            if not bit_exact:
                failures.append(f"lossless rendition is not bit-exact at {depth} bits")
        spectrum = self._power_sum / self._power_frames
        spectrum_db = _smoothed_db(spectrum)
        freqs = np.linspace(0.0, reference.sample_rate / 2, spectrum.shape[0])
        in_band = (spectrum_db >= reference.spectrum_db - BANDWIDTH_DROP_DB) & reference.has_content
        bandwidth = float(freqs[np.flatnonzero(in_band)[-1]]) if in_band.any() else 0.0
        # Reported to 0.0001 dB: float32 sums run in an order that depends on the block sizes, which moves
        # the last bits, and a manifest must not depend on how its rendition was decoded.
        mel_distance = round(self._mel_sum / self._mel_values, 4)
        bins = (freqs >= LEVEL_FMIN_HZ) & (freqs <= self.passband_hz) & reference.has_content
        reference_power = float(reference.spectrum_power[bins].sum(dtype=np.float64))
        level_delta = None
        if not math.isfinite(reference.integrated_lufs):
            skipped.append("bandwidth, mel distance, level: the source is under the BS.1770 absolute gate "
                           "(-70 LUFS), nothing audible to compare")
        else:
            if reference_power > 0:
                level_delta = round(10.0 * math.log10(max(float(spectrum[bins].sum(dtype=np.float64)), 1e-30)
                                                      / reference_power) - gain_db, 4)
                level_limit = 0.0 if spec.lossless else _lookup(LEVEL_TOLERANCE_DB[rung.codec], self._per_channel)
                if not spec.lossless and abs(level_delta) > level_limit:
                    failures.append(f"level {level_delta:+.2f} dB off the source inside the {self.passband_hz:.0f} "
                                    f"Hz passband (tolerance {level_limit} dB)")
            if not spec.lossless and mel_distance > self.mel_limit_db:
                failures.append(f"mel distance {mel_distance:.2f} dB over the {self.mel_limit_db} dB limit for "
                                f"{rung.codec} at {resolved.bitrate_bps} bit/s")
            if bandwidth < self.expected_bandwidth_hz:
                failures.append(f"bandwidth {bandwidth:.0f} Hz under the expected {self.expected_bandwidth_hz:.0f} Hz")
        return RenditionQA(
            mode=self.mode,
            num_frames=self._position,
            offset_frames=offset,
            offset_tolerance_frames=tolerance,
            measured_bitrate_bps=int(measured_bitrate_bps),
            integrated_lufs=_finite(integrated),
            true_peak_dbtp=_finite(peak),
            loudness_delta_lu=_finite(delta) if math.isfinite(integrated) else None,
            level_delta_db=level_delta,
            bandwidth_hz=bandwidth,
            expected_bandwidth_hz=float(self.expected_bandwidth_hz),
            mel_distance_db=mel_distance,
            mel_distance_limit_db=self.mel_limit_db,
            bit_exact=bit_exact,
            failures=tuple(failures),
            skipped=tuple(skipped),
        )


def check_rendition(decoded: np.ndarray, reference: Reference, resolved: ResolvedRung, *,
                    measured_bitrate_bps: int, mode: str = "fast",
                    loudness: tuple[float, float] | None = None, gain_db: float = 0.0) -> RenditionQA:
    """Measure a whole decoded rendition against its reference and list failed checks.

    :class:`RenditionAnalysis` fed the rendition in blocks of
    :data:`~audiokit._arrays.BLOCK_FRAMES`.

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
    analysis = RenditionAnalysis(reference, resolved, mode=mode, loudness=loudness)
    decoded = as_samples(decoded, name="decoded")
    for start in range(0, max(decoded.shape[1], 1), BLOCK_FRAMES):  # an empty rendition still has channels
        analysis.add(decoded[:, start:start + BLOCK_FRAMES])
    return analysis.finish(measured_bitrate_bps=measured_bitrate_bps, gain_db=gain_db)
