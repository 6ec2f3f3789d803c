"""Audio I/O: decode, stream, write, probe and resample.

Examples
--------
>>> import audiokit
>>> info = audiokit.probe("examples/example.flac")
>>> audio = audiokit.read("examples/example.flac")
>>> audiokit.write("out.opus", audio, bitrate_bps=96_000)
PosixPath('out.opus')
"""

from .._arrays import from_interleaved
from .probe import MediaInfo, probe
from .reader import AudioReader, open, read
from .writer import write

__all__ = ["AudioReader", "MediaInfo", "from_interleaved", "open", "probe", "read", "write"]
