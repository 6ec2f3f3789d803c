"""Audio fingerprints and duplicate detection: the same recording, found again with its time offset.

Fingerprints are Chromaprint's (the algorithm behind AcoustID, used by
MusicBrainz Picard and beets), computed by the C library from Debian's
``libchromaprint1`` through pyacoustid's ``chromaprint`` bindings. Chromaprint
was chosen over a fingerprint of our own because it is the de-facto standard
for this job, is documented and tested on millions of real recordings, and is
built to survive lossy codecs, gain changes and resampling; ours would have to
earn that trust first.

A raw fingerprint is one 32-bit word per 4096/3 samples at 11025 Hz
(:data:`ITEM_S`, 0.124 s). Two fingerprints match when, at some offset, the
words that overlap differ in few bits: the bit error rate (BER) of the best
offset is under :data:`MATCH_MAX_BER` over at least :data:`MIN_OVERLAP_S` of
audio. The offset is how far the second recording starts into the first.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from ._arrays import BLOCK_FRAMES, as_samples
from .channels import to_mono
from .errors import FormatError, MissingDependencyError, ParameterError

if TYPE_CHECKING:
    from .io.source import AudioSource

__all__ = ["ALGORITHM", "ITEM_S", "MATCH_MAX_BER", "MIN_OVERLAP_S", "SAMPLE_RATE", "Fingerprint", "FingerprintBuilder",
           "Match", "compare", "duplicate_groups", "fingerprint"]

#: Name of the fingerprint algorithm, as documents and the catalog record it.
ALGORITHM = "chromaprint"
#: Chromaprint's analysis rate, Hz: the signal is resampled to it (by audiokit's resampler).
SAMPLE_RATE = 11025
#: Seconds between fingerprint words (Chromaprint's frame hop: 4096 samples, 2/3 overlap).
ITEM_S = 4096 / 3 / SAMPLE_RATE
#: Largest bit error rate at the best offset for two fingerprints to be the same recording.
#: Unrelated audio sits near 0.5 (independent bits). Measured in tests/test_fingerprint.py:
#: copies (MP3 64k, AAC 96k, Opus 24k, trimmed, -6 dB, resampled) 0.003-0.090, the
#: closest pair of different tracks 0.356.
MATCH_MAX_BER = 0.30
#: Shortest overlap that can decide a match, seconds.
MIN_OVERLAP_S = 10.0
#: Largest offset searched, seconds (a trimmed intro, a longer edit).
MAX_OFFSET_S = 60.0


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """A Chromaprint raw fingerprint."""

    #: uint32 words, one per :data:`ITEM_S` seconds
    words: np.ndarray
    #: duration of the audio fingerprinted, seconds
    duration_s: float

    def to_bytes(self) -> bytes:
        """The words as little-endian uint32 bytes (the catalog's ``fingerprints.words`` column)."""
        return self.words.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, duration_s: float) -> Fingerprint:
        """Read what :meth:`to_bytes` wrote."""
        if len(data) % 4:
            raise FormatError(f"a fingerprint of {len(data)} bytes; expected a multiple of 4 (uint32 words)")
        return cls(np.frombuffer(data, "<u4").astype(np.uint32), float(duration_s))

    def to_dict(self) -> dict:
        """JSON-ready fields: the words base64-encoded as :meth:`to_bytes` (RFC 4648 section 4)."""
        return {"algorithm": ALGORITHM, "duration_s": round(self.duration_s, 6), "item_s": ITEM_S,
                "num_words": int(self.words.size), "words_base64": base64.b64encode(self.to_bytes()).decode("ascii")}

    @classmethod
    def from_dict(cls, document: dict) -> Fingerprint:
        """Read what :meth:`to_dict` wrote."""
        try:
            return cls.from_bytes(base64.b64decode(document["words_base64"], validate=True), document["duration_s"])
        except (KeyError, TypeError, ValueError) as error:
            raise FormatError(f"not an audiokit fingerprint document ({error!r}); expected the keys of "
                              "Fingerprint.to_dict()") from None


@dataclass(frozen=True)
class Match:
    """How two fingerprints line up at their best offset."""

    #: seconds the second recording starts after the first (negative: before)
    offset_s: float
    #: bit error rate of the overlapping words at that offset, 0..1
    bit_error_rate: float
    #: seconds of audio that overlap at that offset
    overlap_s: float

    @property
    def same_recording(self) -> bool:
        """Whether the two are the same recording (:data:`MATCH_MAX_BER`, :data:`MIN_OVERLAP_S`)."""
        return self.bit_error_rate <= MATCH_MAX_BER and self.overlap_s >= MIN_OVERLAP_S

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"offset_s": round(self.offset_s, 3), "bit_error_rate": round(self.bit_error_rate, 4),
                "overlap_s": round(self.overlap_s, 3), "same_recording": self.same_recording}


def _chromaprint() -> ModuleType:
    try:
        import chromaprint
    except ImportError as error:  # pragma: no cover - pyacoustid is a core dependency
        raise MissingDependencyError("fingerprints need pyacoustid: pip install pyacoustid") from error
    except OSError as error:  # the bindings load libchromaprint when imported
        raise MissingDependencyError(
            f"fingerprints need the Chromaprint library ({error}): apt-get install libchromaprint1"
        ) from None
    return chromaprint


class FingerprintBuilder:
    """Streaming Chromaprint fingerprint: ``process(block)`` at the source's rate, then ``flush()``.

    Blocks are downmixed (:func:`audiokit.channels.to_mono`), resampled to
    :data:`SAMPLE_RATE` by audiokit's resampler and fed to Chromaprint as
    16-bit PCM, so a decode pass that feeds other consumers can feed this one too.

    Parameters
    ----------
    sample_rate : int
        Hz of the blocks.

    Raises
    ------
    MissingDependencyError
        Without pyacoustid or libchromaprint.

    Examples
    --------
    >>> import numpy as np
    >>> builder = FingerprintBuilder(22050)
    >>> rng = np.random.default_rng(0)
    >>> for _ in range(5):
    ...     builder.process(rng.uniform(-0.5, 0.5, (2, 22050)).astype(np.float32))
    >>> round(builder.flush().duration_s, 3)
    5.0
    """

    def __init__(self, sample_rate: int) -> None:
        from .io.resample import Resampler

        chromaprint = _chromaprint()
        self._decode = chromaprint.decode_fingerprint
        self._printer = chromaprint.Fingerprinter()
        self._printer.start(SAMPLE_RATE, 1)
        self._resampler = Resampler(sample_rate, SAMPLE_RATE, 1) if sample_rate != SAMPLE_RATE else None
        self._frames = 0

    def _feed(self, mono: np.ndarray) -> None:
        self._frames += mono.shape[1]
        self._printer.feed(np.clip(np.round(mono[0] * 32767.0), -32768, 32767).astype("<i2").tobytes())

    def process(self, block: np.ndarray) -> None:
        """Add a ``(channels, frames)`` block."""
        mono = to_mono(as_samples(block, name="block"))
        self._feed(self._resampler.process(mono) if self._resampler is not None else mono)

    def flush(self) -> Fingerprint:
        """The fingerprint of everything processed."""
        if self._resampler is not None:
            self._feed(self._resampler.flush())
        raw, _version = self._decode(self._printer.finish())
        return Fingerprint(np.asarray(raw, dtype=np.int64).astype(np.uint32), self._frames / SAMPLE_RATE)


def fingerprint(source: AudioSource) -> Fingerprint:
    """The Chromaprint fingerprint of a file or an :class:`~audiokit.Audio`, streamed.

    Parameters
    ----------
    source : str, os.PathLike or Audio

    Returns
    -------
    Fingerprint

    Raises
    ------
    MissingDependencyError
        Without pyacoustid or libchromaprint.
    FormatError
        If the file cannot be decoded.

    Examples
    --------
    >>> from audiokit.fingerprint import fingerprint
    >>> print_ = fingerprint("examples/example.flac")
    >>> print_.words.size > 100
    True
    """
    from .io.source import open_source

    with open_source(source) as reader:
        builder = FingerprintBuilder(reader.sample_rate)
        for block in reader.blocks(BLOCK_FRAMES):
            builder.process(block)
    return builder.flush()


#: Set bits of every 16-bit value.
_POPCOUNT16 = np.unpackbits(np.arange(1 << 16, dtype=">u2").view(np.uint8)).reshape(-1, 16).sum(axis=1)


def _bit_errors(a: np.ndarray, b: np.ndarray) -> int:
    """Bits that differ between two equally long uint32 arrays."""
    diff = a ^ b
    return int(_POPCOUNT16[diff & 0xFFFF].sum() + _POPCOUNT16[diff >> 16].sum())


def compare(first: Fingerprint, second: Fingerprint, *, max_offset_s: float = MAX_OFFSET_S) -> Match:
    """The best alignment of two fingerprints.

    Every offset up to ``max_offset_s`` either way is tried; the one whose
    overlapping words differ in the fewest bits (per bit compared) wins.

    Parameters
    ----------
    first, second : Fingerprint
    max_offset_s : float

    Returns
    -------
    Match
        ``offset_s`` is where ``second`` starts in ``first``'s time.
    """
    if max_offset_s < 0:
        raise ParameterError(f"max_offset_s is {max_offset_s!r}; expected >= 0")
    a, b = first.words, second.words
    min_items = max(1, min(int(MIN_OVERLAP_S / ITEM_S), a.size, b.size))
    limit = int(max_offset_s / ITEM_S)
    best = Match(0.0, 1.0, 0.0)
    for shift in range(-min(limit, b.size - min_items), min(limit, a.size - min_items) + 1):
        # second's word j lines up with first's word j + shift
        start_a, start_b = max(shift, 0), max(-shift, 0)
        count = min(a.size - start_a, b.size - start_b)
        if count < min_items:
            continue
        ber = _bit_errors(a[start_a:start_a + count], b[start_b:start_b + count]) / (32 * count)
        if ber < best.bit_error_rate:
            best = Match(shift * ITEM_S, ber, count * ITEM_S)
    return best


def duplicate_groups(fingerprints: Sequence[Fingerprint], *,
                     max_offset_s: float = MAX_OFFSET_S) -> list[list[tuple[int, float]]]:
    """Groups of the same recording among ``fingerprints``.

    Parameters
    ----------
    fingerprints : sequence of Fingerprint
    max_offset_s : float

    Returns
    -------
    list of list of (index, offset_s)
        Each group lists its members by index into ``fingerprints``, the first
        member with offset 0 and the others with where they start in its time.
        Recordings that match nothing are left out.

    Notes
    -----
    Every pair is compared (n^2/2 alignments): right for a batch or a folder,
    not for a catalog of millions, which needs an index of fingerprint words.
    """
    count = len(fingerprints)
    parent = list(range(count))
    offsets: dict[tuple[int, int], float] = {}

    def root(index: int) -> int:
        while parent[index] != index:
            index = parent[index]
        return index

    for i in range(count):
        for j in range(i + 1, count):
            match = compare(fingerprints[i], fingerprints[j], max_offset_s=max_offset_s)
            if match.same_recording:
                offsets[(i, j)] = match.offset_s
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for index in range(count):
        groups.setdefault(root(index), []).append(index)
    result = []
    for members in groups.values():
        if len(members) < 2:
            continue
        first = members[0]
        located = {first: 0.0}
        pending = members[1:]
        while pending:  # place each member through a direct match with an already placed one
            placed_before = len(located)
            for member in list(pending):
                for placed, offset in list(located.items()):
                    pair = (min(placed, member), max(placed, member))
                    if pair in offsets:
                        step = offsets[pair] if placed < member else -offsets[pair]
                        located[member] = offset + step
                        pending.remove(member)
                        break
            if len(located) == placed_before:  # cannot happen: a group is connected by matches
                raise AssertionError("a duplicate group is not connected")
        result.append(sorted(located.items()))
    return result

