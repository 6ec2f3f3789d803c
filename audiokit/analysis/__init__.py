"""Music analysis: tempo and beats, key and mode, spectral summary, silence, speech/music.

Every function takes ``(samples, sample_rate)``; :func:`analyze` takes a path or an
:class:`~audiokit.Audio` and runs them all on one shared 22050 Hz STFT.

No model lives here and nothing here imports ``audiokit.models``: the speech/music
segmentation that needs models is a *segmenter* plugged in through
:mod:`.segments` (the entry-point group ``audiokit.segmenters``, or ``segmenter=``).

Examples
--------
>>> from audiokit.analysis import analyze
>>> result = analyze("examples/example.flac", segment_method="energy")
>>> round(result.tempo.bpm), result.key.name
(100, 'C major')
"""

from .analyze import AnalysisResult, analyze
from .rhythm import TempoResult, tempo
from .segments import Segment, SegmentationInput, SegmentationResult, Segmenter, energy_segmentation, segments
from .spectral import SilenceResult, SpectralSummary, silence, spectral_summary
from .tonality import KeyResult, key

__all__ = [
    "AnalysisResult",
    "KeyResult",
    "Segment",
    "SegmentationInput",
    "SegmentationResult",
    "Segmenter",
    "SilenceResult",
    "SpectralSummary",
    "TempoResult",
    "analyze",
    "energy_segmentation",
    "key",
    "segments",
    "silence",
    "spectral_summary",
    "tempo",
]
