"""Ladder rungs: what one rendition is (codec, bitrate, rate, channels), validated.

A :class:`Rung` is a request; :func:`resolve_rung` turns it into the concrete
encoding parameters for one source (its sample rate and channel count), and
:func:`parse_rungs` / :func:`load_rungs` validate custom ladders given as JSON,
with errors that name the offending field (``rungs[2].bitrate_bps``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeGuard, Union

import numpy as np

from ..errors import FormatError, ParameterError

__all__ = ["CODECS", "CodecSpec", "Rung", "RungsDocument", "ResolvedRung", "load_rungs", "parse_rungs", "resolve_rung"]

#: Rung names become file names: lower-case letters, digits, dot, dash, underscore.
_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
#: Fields a rung object may have in JSON.
_FIELDS = ("name", "codec", "bitrate_bps", "sample_rate", "num_channels")
#: Rates the MP3 and AAC encoders accept (ISO 11172-3/13818-3; ISO 14496-3 up to 96 kHz).
_MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
_AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000)
#: Lossy rungs default to the source rate's family, capped here (44.1 kHz or 48 kHz).
_LOSSY_MAX_DEFAULT_RATE = 48000


@dataclass(frozen=True)
class CodecSpec:
    """What the ladder knows about one codec."""

    #: ffmpeg encoder name, as audiokit.io.writer spells it
    encoder: str
    #: file extension of its rendition (picks the muxer)
    extension: str
    #: container name reported in renditions
    container: str
    #: True for FLAC/ALAC (no bitrate; bit-exact at the chosen bit depth)
    lossless: bool
    #: True for true CBR (LAME): measured bitrate checked within +-10 % of the target.
    #: ffmpeg's AAC encoder (ABR) and Opus (VBR) spend fewer bits on easy content
    #: (speech: AAC 256 kbit/s measured 62 %), so only an upper bound applies to them
    constant_bitrate: bool
    #: the only sample rates the encoder takes (None: any)
    sample_rates: tuple[int, ...] | None
    #: most channels the codec carries
    max_channels: int
    #: highest bitrate the encoder takes per channel, bits per second (None: lossless)
    max_bitrate_per_channel_bps: int | None


#: The codecs a rung may name. Vorbis is absent: ffmpeg's only Vorbis encoder ignores the bitrate.
CODECS = {
    # libopus: at most 256 kbit/s per channel; ffmpeg's aac: 6144 bits per channel per
    # 1024-sample frame (264 kbit/s at 44.1 kHz); MPEG-1 Layer III: 320 kbit/s in all.
    "opus": CodecSpec("libopus", ".opus", "ogg", False, False, (48000,), 8, 256_000),
    "aac": CodecSpec("aac", ".m4a", "mp4", False, False, _AAC_RATES, 8, 256_000),
    "mp3": CodecSpec("libmp3lame", ".mp3", "mp3", False, True, _MP3_RATES, 2, 320_000),
    "flac": CodecSpec("flac", ".flac", "flac", True, False, None, 8, None),
    "alac": CodecSpec("alac", ".m4a", "mp4", True, False, None, 8, None),
}
#: Bitrate bounds of lossy rungs, bits per second (audiokit.io.writer accepts these).
MIN_BITRATE_BPS = 6000
MAX_BITRATE_BPS = 640_000


@dataclass(frozen=True)
class Rung:
    """One requested rendition of a ladder.

    Examples
    --------
    >>> Rung("aac-128", "aac", bitrate_bps=128_000, num_channels=2).codec
    'aac'
    """

    #: unique name; the rendition's file is ``name + extension``
    name: str
    #: one of :data:`CODECS`: "opus", "aac", "mp3", "flac", "alac"
    codec: str
    #: target bitrate, bits per second; None for lossless codecs
    bitrate_bps: int | None = None
    #: output rate, Hz; None: Opus 48 kHz, lossless the source's, others the source's family (<= 48 kHz)
    sample_rate: int | None = None
    #: at most this many channels (sources with more are downmixed); None: the source's
    num_channels: int | None = None

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict (the custom-rungs JSON schema)."""
        return asdict(self)


#: A custom ladder as :func:`parse_rungs` takes it: rungs (Rung or dict) or a ``{"rungs": [...]}`` document.
RungsDocument = Union[Sequence[Union[Rung, Mapping[str, Any]]], Mapping[str, Any]]


@dataclass(frozen=True)
class ResolvedRung:
    """A rung made concrete for one source."""

    #: the request
    rung: Rung
    #: its codec's properties
    spec: CodecSpec
    #: output sample rate, Hz
    sample_rate: int
    #: output channel count
    num_channels: int
    #: integer bit depth of lossless rungs (16 or 24); None for lossy
    bit_depth: int | None
    #: target bitrate, bits per second: the rung's, capped at what the codec takes
    #: for num_channels (a 320 kbit/s stereo Opus rung of a mono source gets 256); None for lossless
    bitrate_bps: int | None

    @property
    def file_name(self) -> str:
        """``name + extension``, relative to the ladder's folder."""
        return self.rung.name + self.spec.extension

    @property
    def lossy_bitrate_bps(self) -> int:
        """:attr:`bitrate_bps` of a lossy rung, which always has one.

        Raises
        ------
        ParameterError
            If the rung has no bitrate (a lossless rung).
        """
        if self.bitrate_bps is None:
            raise ParameterError(f"rung {self.rung.name!r} ({self.rung.codec}) has no bitrate: it is not a lossy rung")
        return self.bitrate_bps

    @property
    def lossless_bit_depth(self) -> int:
        """:attr:`bit_depth` of a lossless rung, which always has one.

        Raises
        ------
        ParameterError
            If the rung has no bit depth (a lossy rung).
        """
        if self.bit_depth is None:
            raise ParameterError(f"rung {self.rung.name!r} ({self.rung.codec}) has no bit depth: it is not a lossless rung")
        return self.bit_depth


def _is_int(value: object) -> TypeGuard[int | np.integer]:
    """Whether ``value`` is an integer (Python or NumPy), not a bool; narrows it for the range checks."""
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def _check_rung(rung: Rung, where: str) -> Rung:
    if not isinstance(rung.name, str) or not _NAME_PATTERN.match(rung.name):
        raise ParameterError(
            f"{where}.name is {rung.name!r}; expected 1-64 characters of a-z, 0-9, '.', '-', '_' "
            "starting with a letter or digit (it becomes a file name)"
        )
    if rung.codec not in CODECS:
        raise ParameterError(f"{where}.codec is {rung.codec!r}; expected one of {', '.join(CODECS)}")
    spec = CODECS[rung.codec]
    if spec.lossless:
        if rung.bitrate_bps is not None:
            raise ParameterError(f"{where}.bitrate_bps is {rung.bitrate_bps!r}; {rung.codec} is lossless: leave it out")
    elif not _is_int(rung.bitrate_bps) or not MIN_BITRATE_BPS <= rung.bitrate_bps <= MAX_BITRATE_BPS:
        raise ParameterError(
            f"{where}.bitrate_bps is {rung.bitrate_bps!r}; expected an integer from "
            f"{MIN_BITRATE_BPS} to {MAX_BITRATE_BPS} bits per second"
        )
    if rung.sample_rate is not None:
        if not _is_int(rung.sample_rate) or rung.sample_rate <= 0:
            raise ParameterError(f"{where}.sample_rate is {rung.sample_rate!r}; expected a positive integer (Hz) or null")
        if spec.sample_rates is not None and rung.sample_rate not in spec.sample_rates:
            raise ParameterError(
                f"{where}.sample_rate is {rung.sample_rate}; {rung.codec} takes "
                f"{', '.join(map(str, spec.sample_rates))} Hz"
            )
    if rung.num_channels is not None:
        if not _is_int(rung.num_channels) or not 1 <= rung.num_channels <= spec.max_channels:
            raise ParameterError(
                f"{where}.num_channels is {rung.num_channels!r}; {rung.codec} takes 1 to {spec.max_channels} or null"
            )
    return rung


def parse_rungs(rungs: RungsDocument) -> tuple[Rung, ...]:
    """Validate a custom ladder.

    Parameters
    ----------
    rungs : sequence of Rung or dict, or dict with a ``"rungs"`` list
        Each dict has ``name``, ``codec``, ``bitrate_bps`` (lossy only),
        optional ``sample_rate`` and ``num_channels`` (see :class:`Rung`).

    Returns
    -------
    tuple of Rung

    Raises
    ------
    ParameterError
        Naming the first bad field, e.g. ``rungs[1].bitrate_bps is '128k'; ...``,
        an unknown field, or a repeated name.

    Examples
    --------
    >>> parse_rungs([{"name": "low", "codec": "opus", "bitrate_bps": 48000}])[0].sample_rate is None
    True
    """
    if isinstance(rungs, dict):
        if set(rungs) != {"rungs"}:
            raise ParameterError(f"the rungs document has keys {sorted(rungs)}; expected exactly ['rungs']")
        rungs = rungs["rungs"]
    if isinstance(rungs, (str, bytes)) or not isinstance(rungs, (list, tuple)) or not rungs:
        raise ParameterError(f"rungs is {type(rungs).__name__}; expected a non-empty list of rung objects")
    parsed = []
    for index, item in enumerate(rungs):
        where = f"rungs[{index}]"
        if isinstance(item, dict):
            unknown = sorted(set(item) - set(_FIELDS))
            if unknown:
                raise ParameterError(f"{where} has unknown field(s) {', '.join(unknown)}; expected {', '.join(_FIELDS)}")
            for required in ("name", "codec"):
                if required not in item:
                    raise ParameterError(f"{where}.{required} is missing")
            item = Rung(**item)
        elif not isinstance(item, Rung):
            raise ParameterError(f"{where} is a {type(item).__name__}; expected an object (dict) or Rung")
        parsed.append(_check_rung(item, where))
    names = [rung.name for rung in parsed]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise ParameterError(f"rungs[{index}].name {name!r} repeats rungs[{names.index(name)}].name; names must be unique")
    return tuple(parsed)


def load_rungs(path: str | os.PathLike[str]) -> tuple[Rung, ...]:
    """Read and validate a custom ladder from a JSON file (see :func:`parse_rungs`).

    Raises
    ------
    FormatError
        If the file cannot be read or is not JSON.
    ParameterError
        If a rung is invalid.
    """
    path = Path(os.fspath(path))
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise FormatError(f"{path}: cannot read the rungs file ({error.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise FormatError(f"{path}: not valid JSON ({error})") from None
    return parse_rungs(document)


def _default_rate(spec: CodecSpec, source_rate: int) -> int:
    """The source rate when the codec takes it (<= 48 kHz), else 44.1 or 48 kHz by family."""
    if spec.sample_rates is None:
        return source_rate
    if len(spec.sample_rates) == 1:
        return spec.sample_rates[0]
    if source_rate in spec.sample_rates and source_rate <= _LOSSY_MAX_DEFAULT_RATE:
        return source_rate
    return 44100 if source_rate % 11025 == 0 else 48000


def resolve_rung(rung: Rung, *, source_rate: int, source_channels: int, source_bit_depth: int | None) -> ResolvedRung:
    """Concrete rate, channels and bit depth of ``rung`` for one source.

    Parameters
    ----------
    rung : Rung
        A validated rung.
    source_rate : int
        The source's sample rate, Hz.
    source_channels : int
    source_bit_depth : int or None
        Bits per sample of an integer PCM/lossless source; None for lossy or
        float sources. Lossless rungs keep 16-bit (and narrower) sources at
        16 bits and store everything else at 24.

    Returns
    -------
    ResolvedRung

    Raises
    ------
    ParameterError
        If the source has more channels than a lossless codec carries, or a
        lossy rung has no bitrate.
    """
    spec = CODECS[rung.codec]
    sample_rate = rung.sample_rate if rung.sample_rate is not None else _default_rate(spec, source_rate)
    channels = source_channels if rung.num_channels is None else min(rung.num_channels, source_channels)
    if channels > spec.max_channels:
        if spec.lossless:
            raise ParameterError(f"rung {rung.name!r}: {rung.codec} carries at most {spec.max_channels} channels; the source has {source_channels}")
        channels = spec.max_channels  # lossy: downmixed (MP3 cannot carry 5.1)
    bit_depth = bitrate = None
    if spec.lossless:
        bit_depth = 16 if source_bit_depth is not None and source_bit_depth <= 16 else 24
    else:
        # parse_rungs requires a bitrate of every lossy rung, and every lossy codec has a cap;
        # a Rung built by hand and never validated may still lack the bitrate.
        per_channel_cap = spec.max_bitrate_per_channel_bps
        if rung.bitrate_bps is None or per_channel_cap is None:
            raise ParameterError(f"rung {rung.name!r}: {rung.codec} is lossy and needs bitrate_bps (see parse_rungs)")
        bitrate = min(rung.bitrate_bps, per_channel_cap * channels)
    return ResolvedRung(rung, spec, sample_rate, channels, bit_depth, bitrate)
