"""Encoded packets kept on disk until an MP4 file is muxed, so its sample index is not held through the encode.

ffmpeg's MP4 muxer keeps one index entry per packet in memory until it
writes the ``moov`` box at the end: about 72 bytes per AAC frame, measured at
11 MB per hour of a 48 kHz rendition. A ladder encodes its renditions side by
side in one pass, so each long AAC rendition would hold its index for the
whole pass. :class:`PacketSpill` instead appends each encoded packet to an
unnamed temporary file; when the writer closes, :meth:`PacketSpill.mux` feeds
them to the muxer under :data:`MP4_INDEX_LOCK`, so at most one index is in
memory, and only while its file is finished.

The muxer receives the same packets in the same order with the same
timestamps, durations and key-frame flags as direct muxing would give it: the
file written is byte for byte the same.
"""

from __future__ import annotations

import struct
import tempfile
import threading
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    import av

__all__ = ["MP4_INDEX_LOCK", "PacketSpill"]

#: Per packet: pts, dts, duration (int64, in the packet's time base; pts and dts None as the minimum int64),
#: payload size (uint32) and key-frame flag (uint8), then the payload.
_RECORD = struct.Struct("<qqqIB")
_NO_TIMESTAMP = -(2**63)
#: One MP4 sample index in memory at a time in this process: a muxer's while a file is finished, or a
#: demuxer's while one is decoded whole (a ladder's QA decoding its AAC renditions back holds it). For a
#: 3-hour 48 kHz AAC rendition the muxer's index is about 33 MB, the demuxer's tables about 14 MB.
MP4_INDEX_LOCK = threading.Lock()


class PacketSpill:
    """Encoded packets of one stream, in order, in an unnamed temporary file.

    Parameters
    ----------
    folder : pathlib.Path
        Where the temporary file lives (the output's folder: the packets are
        about the size of the finished file). It has no name, so nothing is
        left behind if the process dies.
    """

    def __init__(self, folder: Path) -> None:
        self._file: BinaryIO = tempfile.TemporaryFile(dir=folder, prefix=".packets-")
        self._time_base: Fraction | None = None
        self.count = 0

    def add(self, packet: av.Packet) -> None:
        """Append one encoded packet (its payload, timestamps, duration and key-frame flag)."""
        if self._time_base is None:  # the encoder's: the same for every packet of the stream
            self._time_base = packet.time_base
        payload = bytes(packet)
        self._file.write(_RECORD.pack(_timestamp(packet.pts), _timestamp(packet.dts), packet.duration or 0,
                                      len(payload), packet.is_keyframe))
        self._file.write(payload)
        self.count += 1

    def mux(self, container: av.container.OutputContainer, stream: av.stream.Stream) -> None:
        """Mux every packet, in order, into ``stream`` of ``container`` and close it; under :data:`MP4_INDEX_LOCK`.

        Parameters
        ----------
        container : av.container.OutputContainer
            The MP4 output; closing it writes the muxer's index and frees it.
        stream : av.stream.Stream
            The output stream the packets were encoded for.
        """
        import av

        with MP4_INDEX_LOCK:
            self._file.seek(0)
            for _ in range(self.count):
                pts, dts, duration, size, keyframe = _RECORD.unpack(self._file.read(_RECORD.size))
                packet = av.Packet(self._file.read(size))
                packet.pts = None if pts == _NO_TIMESTAMP else pts
                packet.dts = None if dts == _NO_TIMESTAMP else dts
                packet.duration = duration
                if self._time_base is not None:
                    packet.time_base = self._time_base
                packet.is_keyframe = bool(keyframe)
                packet.stream = stream
                container.mux(packet)
            container.close()
        self.discard()

    def discard(self) -> None:
        """Delete the temporary file (the packets are gone)."""
        self._file.close()


def _timestamp(value: int | None) -> int:
    return _NO_TIMESTAMP if value is None else value
