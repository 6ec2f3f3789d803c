"""``analyze()``: every music analysis of a file or signal from one shared STFT, read in blocks.

The source is decoded block by block into :class:`._frames.FrameAnalyzer`, which
keeps per-frame features only (a few numbers per 23 ms frame), so memory does
not grow with the duration. The one exception is a segmenter that reads the
signal (the learned one): it gets the 16 kHz mono, kept for it during the same
pass (4 bytes per sample: 690 MB for a 3-hour episode).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._arrays import BLOCK_FRAMES
from ._frames import FrameAnalyzer
from .rhythm import TempoResult, tempo_from_frames
from .segments import SEGMENTER_RATE, SegmentationResult, Segmenter, choose_segmenter, needs_signal, segment_frames
from .spectral import SilenceResult, SpectralSummary, silence_from_frames, summary_from_frames
from .tonality import KeyResult, key_from_frames

if TYPE_CHECKING:
    from ..io.source import AudioSource

__all__ = ["AnalysisResult", "analyze"]


@dataclass(frozen=True)
class AnalysisResult:
    """Tempo, key, timbre, silence and speech/music content of one signal."""

    #: duration of the input, seconds
    duration_s: float
    #: tempo and beat times
    tempo: TempoResult
    #: key and mode
    key: KeyResult
    #: spectral centroid, bandwidth, rolloff
    spectral: SpectralSummary
    #: silent stretches
    silence: SilenceResult
    #: speech / music / silence segments and ratios
    segments: SegmentationResult

    def to_dict(self) -> dict:
        """The fields as JSON-ready Python values."""
        return {
            "duration_s": self.duration_s,
            "tempo": self.tempo.to_dict(),
            "key": self.key.to_dict(),
            "spectral": self.spectral.to_dict(),
            "silence": self.silence.to_dict(),
            "segments": self.segments.to_dict(),
        }


def analyze(source: AudioSource, *, key_profile: str = "krumhansl", threshold_dbfs: float = -60.0,
            min_silence_ms: float = 500.0, segment_method: str = "auto", tags: object | None = None,
            segmenter: Segmenter | None = None) -> AnalysisResult:
    """Analyze a file or signal: tempo and beats, key, spectral summary, silence, speech/music.

    Parameters
    ----------
    source : str, os.PathLike or Audio
        A file :func:`audiokit.read` decodes, or a signal.
    key_profile : str
        "krumhansl" or "temperley" (see :mod:`.tonality`).
    threshold_dbfs : float
        Frame RMS below this is silence.
    min_silence_ms : float
        Shortest silent stretch reported.
    segment_method : str
        Speech/music method, "auto", "learned" or "energy" (see :mod:`.segments`).
    tags : audiokit.models.tagging.TagResult, optional
        MTT_musicnn's result on the same signal, handed to the learned segmenter, which reuses it.
    segmenter : callable, optional
        A :data:`.segments.Segmenter` to run instead of ``segment_method``'s.

    Returns
    -------
    AnalysisResult

    Raises
    ------
    ParameterError
        On a bad option or a signal under 93 ms.
    MissingDependencyError
        With ``segment_method="learned"`` when the ml extra is missing ("auto" falls back to "energy").
    FormatError
        If the file cannot be decoded.

    Notes
    -----
    The source is read once, in blocks of :data:`audiokit._arrays.BLOCK_FRAMES`
    frames; only per-frame features are kept (see :mod:`._frames`), and the
    16 kHz mono signal when the segmenter reads it (``"learned"``, ``"auto"``
    with the ml extra, or a ``segmenter``).

    Examples
    --------
    >>> from audiokit.analysis import analyze
    >>> result = analyze("examples/example.flac", segment_method="energy")
    >>> round(result.tempo.bpm), result.key.name, result.duration_s
    (100, 'C major', 20.2)
    """
    from ..io.source import open_source

    chosen, fallback_reason = choose_segmenter(segment_method, tags=tags, segmenter=segmenter)
    with open_source(source) as reader:
        analyzer = FrameAnalyzer(reader.sample_rate, reader.num_channels, expected_frames=reader.num_frames,
                                 mono_rate=SEGMENTER_RATE if needs_signal(chosen) else None)
        for block in reader.blocks(BLOCK_FRAMES):
            analyzer.process(block)
    frames = analyzer.flush()
    return AnalysisResult(
        duration_s=round(frames.duration_s, 6),
        tempo=tempo_from_frames(frames),
        key=key_from_frames(frames, profile=key_profile),
        spectral=summary_from_frames(frames, threshold_dbfs=threshold_dbfs),
        silence=silence_from_frames(frames, threshold_dbfs=threshold_dbfs, min_silence_ms=min_silence_ms),
        segments=segment_frames(frames, chosen, threshold_dbfs=threshold_dbfs, fallback_reason=fallback_reason),
    )
