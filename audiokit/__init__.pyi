# Types of the lazy top level (audiokit/__init__.py resolves these on first
# access, PEP 562); type checkers read this file instead.
from . import analysis as analysis
from . import channels as channels
from . import io as io
from . import loudness as loudness
from . import pipeline as pipeline
from . import spatial as spatial
from . import synth as synth
from . import transcode as transcode
from ._version import __version__ as __version__
from .audio import Audio as Audio
from .errors import AudiokitError as AudiokitError
from .errors import FormatError as FormatError
from .errors import MissingDependencyError as MissingDependencyError
from .errors import ModelError as ModelError
from .errors import ParameterError as ParameterError
from .io import AudioReader as AudioReader
from .io import MediaInfo as MediaInfo
from .io import open as open
from .io import probe as probe
from .io import read as read
from .io import write as write
from .io.source import AudioSource as AudioSource
from .io.source import as_audio as as_audio

__all__ = [
    "__version__",
    "Audio",
    "AudioSource",
    "AudiokitError",
    "FormatError",
    "MissingDependencyError",
    "ModelError",
    "ParameterError",
    "MediaInfo",
    "as_audio",
    "open",
    "probe",
    "read",
    "write",
]
