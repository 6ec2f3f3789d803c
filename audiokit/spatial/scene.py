"""JSON scenes: an HRTF, a listener and sources that may move.

A scene file (JSON Schema: ``docs/spatial-scene.schema.json``; every field is
validated and errors name the file and the JSON path, e.g.
``scene.json: sources[1].trajectory[0][2] (elevation_deg): 95 is out of range; ...``)::

    {
      "hrtf": "spherical-head",            # or a SOFA path (relative to the scene file)
      "sample_rate": 48000,
      "block_size": 512,                   # optional, default 512
      "duration_s": 4.0,                   # optional when every source is an audio file
      "listener": {"orientation": [[0.0, 0.0, 0.0], [2.0, 90.0, 0.0]]},  # [t_s, yaw_deg, pitch_deg]
      "sources": [
        {"signal": {"type": "noise", "seed": 1}, "gain_db": -6.0,
         "trajectory": [[0.0, 0.0, 0.0, 1.0], [4.0, 360.0, 0.0, 1.0]]},  # [t_s, az, el, distance_m]
        {"audio": "voice.wav", "position": [30.0, 0.0, 2.0]}
      ]
    }

Built-in signals: ``noise`` (``seed``, ``amplitude``), ``sine`` (``frequency_hz``,
``amplitude``), ``clicks`` (``every_s``). Keyframes are interpolated linearly
(azimuth unwrapped as written, so 0 -> 360 is a full orbit) and held outside
their time span; positions are evaluated at the end of each block.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import numpy as np

from ..errors import FormatError, ParameterError
from .hrtf import SPHERICAL_HEAD
from .renderer import MAX_BLOCK_SIZE

if TYPE_CHECKING:
    from ..audio import Audio

__all__ = ["SIGNALS", "MAX_DISTANCE_M", "Scene", "load_scene", "render_scene"]

#: Built-in test signals a source may use instead of an audio file.
SIGNALS = ("noise", "sine", "clicks")
_DEFAULT_BLOCK = 512


@dataclass(frozen=True)
class Scene:
    """A validated scene."""

    #: "spherical-head" or the resolved path of a SOFA file
    hrtf: str
    #: render rate, Hz
    sample_rate: int
    #: frames per renderer block
    block_size: int
    #: length of the rendered input, seconds (None: the longest audio source)
    duration_s: float | None
    #: listener keyframes, shape (k, 3): t_s, yaw_deg, pitch_deg
    listener: np.ndarray
    #: sources: dicts with "audio" (path) or "signal" (dict), "gain_db", "keyframes" (k, 4)
    sources: tuple = field(default_factory=tuple)

    def to_dict(self) -> dict:
        """JSON-able form (keyframes as lists)."""
        return {"hrtf": self.hrtf, "sample_rate": self.sample_rate, "block_size": self.block_size,
                "duration_s": self.duration_s, "listener": self.listener.tolist(),
                "sources": [{**s, "keyframes": s["keyframes"].tolist()} for s in self.sources]}


#: Fields of each object, as docs/spatial-scene.schema.json lists them.
_SCENE_FIELDS = ("hrtf", "sample_rate", "block_size", "duration_s", "listener", "sources")
_LISTENER_FIELDS = ("yaw_deg", "pitch_deg", "orientation")
_SOURCE_FIELDS = ("audio", "signal", "gain_db", "position", "trajectory")
_SIGNAL_FIELDS = {"noise": ("seed", "amplitude"), "sine": ("frequency_hz", "amplitude"),
                  "clicks": ("every_s", "amplitude")}
_TRAJECTORY_COLUMNS = ("t_s", "azimuth_deg", "elevation_deg", "distance_m")
_ORIENTATION_COLUMNS = ("t_s", "yaw_deg", "pitch_deg")
#: Farthest source distance a scene may use (RendererOptions.max_distance_m's default), metres.
MAX_DISTANCE_M = 20.0


class _Checker:
    """Raises ParameterError naming the scene file (when there is one) and the JSON path."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, where: str, problem: str) -> NoReturn:
        raise ParameterError(f"{self.origin}{where}: {problem}")

    def fields(self, data: object, where: str, known: Collection[str]) -> dict:
        if not isinstance(data, dict):
            self.fail(where or "scene", f"{_show(data)} is not a JSON object")
        for key in data:
            if key not in known:
                self.fail(_join(where, key), f"unknown field; expected one of {', '.join(known)}")
        return data

    def number(self, value: object, where: str, *, low: float = -math.inf, high: float = math.inf,
               low_open: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(where, f"{_show(value)} is not a finite number")
        if value < low or (low_open and value == low) or value > high:
            low_text = f"> {low}" if low_open else f">= {low}"
            self.fail(where, f"{value} is out of range; expected {low_text} and <= {high}")
        return float(value)

    def integer(self, value: object, where: str, low: int, high: int, unit: str = "") -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(where, f"{_show(value)}; expected an integer {low}..{high}{unit}")
        return int(value)

    def keyframes(self, rows: object, where: str, columns: tuple) -> np.ndarray:
        if not isinstance(rows, list) or not rows:
            self.fail(where, f"{_show(rows)}; expected a non-empty list of [{', '.join(columns)}] keyframes")
        out = []
        for i, row in enumerate(rows):
            out.append(self.row(row, f"{where}[{i}]", columns))
            if len(out) > 1 and out[-1][0] <= out[-2][0]:
                self.fail(f"{where}[{i}][0] (t_s)", f"{out[-1][0]} is not after {out[-2][0]}; keyframe times must increase")
        return np.array(out)

    def row(self, row: object, where: str, columns: tuple) -> list:
        if not isinstance(row, list) or len(row) != len(columns):
            self.fail(where, f"{_show(row)}; expected [{', '.join(columns)}]")
        values = []
        for j, (value, name) in enumerate(zip(row, columns)):
            path = f"{where}[{j}] ({name})"
            if name == "elevation_deg":
                values.append(self.number(value, path, low=-90.0, high=90.0))
            elif name == "distance_m":
                values.append(self.number(value, path, low=0.0, high=MAX_DISTANCE_M, low_open=True))
            else:
                values.append(self.number(value, path))
        return values


def _show(value: object) -> str:
    text = json.dumps(value) if isinstance(value, (dict, list, str, int, float, bool, type(None))) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def load_scene(path_or_dict: str | os.PathLike[str] | dict, *,
               base_dir: str | os.PathLike[str] | None = None) -> Scene:
    """Read and validate a scene (format: docs/spatial-scene.schema.json).

    Parameters
    ----------
    path_or_dict : str, os.PathLike or dict
        A JSON file, or its parsed content.
    base_dir : str or os.PathLike, optional
        Where relative paths are resolved (default: the file's folder).

    Raises
    ------
    ParameterError
        Naming the file and the JSON path of the first bad field, e.g.
        ``scene.json: sources[2].position[1] (elevation_deg): 95 is out of range; ...``.
    FormatError
        If the file is not valid JSON.
    """
    if isinstance(path_or_dict, dict):
        data = path_or_dict
        base = Path(base_dir or ".")
        check = _Checker("scene: ")
    else:
        path = Path(path_or_dict)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise FormatError(f"{path}: cannot read the scene as JSON ({error})") from None
        base = Path(base_dir) if base_dir is not None else path.parent
        check = _Checker(f"{path}: ")
    check.fields(data, "", _SCENE_FIELDS)

    hrtf = data.get("hrtf", SPHERICAL_HEAD)
    if not isinstance(hrtf, str) or not hrtf:
        check.fail("hrtf", f"{_show(hrtf)}; expected \"{SPHERICAL_HEAD}\" or a SOFA file path")
    if hrtf != SPHERICAL_HEAD:
        hrtf = str((base / hrtf) if not Path(hrtf).is_absolute() else Path(hrtf))
    if "sample_rate" not in data:
        check.fail("sample_rate", "missing; give the render rate in Hz, e.g. 48000")
    rate = check.integer(data["sample_rate"], "sample_rate", 8000, 384000, " Hz")
    block = check.integer(data.get("block_size", _DEFAULT_BLOCK), "block_size", 1, MAX_BLOCK_SIZE)
    duration = data.get("duration_s")
    if duration is not None:
        duration = check.number(duration, "duration_s", low=0.0, high=24 * 3600.0, low_open=True)

    listener = check.fields(data.get("listener", {}), "listener", _LISTENER_FIELDS)
    if "orientation" in listener:
        for key in ("yaw_deg", "pitch_deg"):
            if key in listener:
                check.fail(f"listener.{key}", "give either orientation keyframes or a fixed yaw_deg/pitch_deg, not both")
        orientation = check.keyframes(listener["orientation"], "listener.orientation", _ORIENTATION_COLUMNS)
    else:
        orientation = np.array([[0.0, check.number(listener.get("yaw_deg", 0.0), "listener.yaw_deg"),
                                 check.number(listener.get("pitch_deg", 0.0), "listener.pitch_deg")]])

    if "sources" not in data:
        check.fail("sources", "missing; expected a non-empty list of sources")
    rows = data["sources"]
    if not isinstance(rows, list) or not rows:
        check.fail("sources", f"{_show(rows)}; expected a non-empty list of sources")
    sources = []
    for i, row in enumerate(rows):
        where = f"sources[{i}]"
        check.fields(row, where, _SOURCE_FIELDS)
        if ("audio" in row) == ("signal" in row):
            check.fail(where, "give exactly one of 'audio' (a file) or 'signal' (a built-in signal)")
        source: dict = {"gain_db": check.number(row.get("gain_db", 0.0), f"{where}.gain_db", low=-200.0, high=60.0)}
        if "audio" in row:
            if not isinstance(row["audio"], str) or not row["audio"]:
                check.fail(f"{where}.audio", f"{_show(row['audio'])}; expected a file path")
            audio = Path(row["audio"])
            source["audio"] = str(audio if audio.is_absolute() else base / audio)
        else:
            source["signal"] = _check_signal(check, row["signal"], f"{where}.signal")
        if ("position" in row) == ("trajectory" in row):
            check.fail(where, "give exactly one of 'position' [azimuth_deg, elevation_deg, distance_m] "
                              "or 'trajectory' keyframes")
        if "position" in row:
            place = check.row(row["position"], f"{where}.position", _TRAJECTORY_COLUMNS[1:])
            source["keyframes"] = np.array([[0.0, *place]])
        else:
            source["keyframes"] = check.keyframes(row["trajectory"], f"{where}.trajectory", _TRAJECTORY_COLUMNS)
        sources.append(source)
    if duration is None and any("signal" in s for s in sources):
        check.fail("duration_s", "missing; required when a source uses a built-in signal")
    return Scene(hrtf=hrtf, sample_rate=rate, block_size=block, duration_s=duration,
                 listener=orientation, sources=tuple(sources))


def _check_signal(check: _Checker, signal: object, where: str) -> dict:
    if not isinstance(signal, dict):
        check.fail(where, f"{_show(signal)} is not a JSON object")
    kind = signal.get("type")
    if kind not in SIGNALS:
        check.fail(f"{where}.type", f"{_show(kind)}; expected one of {', '.join(SIGNALS)}")
    check.fields(signal, where, ("type", *_SIGNAL_FIELDS[kind]))
    for key, value in signal.items():
        if key == "seed":
            check.integer(value, f"{where}.seed", 0, 2**63 - 1)
        elif key == "amplitude":
            check.number(value, f"{where}.amplitude", low=0.0)
        elif key != "type":
            check.number(value, f"{where}.{key}", low=0.0, low_open=True)
    return dict(signal)


def _signal(spec: dict, sample_rate: int, frames: int) -> np.ndarray:
    t = np.arange(frames) / sample_rate
    amplitude = spec.get("amplitude", 0.25)
    if spec["type"] == "noise":
        generator = np.random.default_rng(int(spec.get("seed", 0)))
        return generator.uniform(-amplitude, amplitude, frames).astype(np.float32)
    if spec["type"] == "sine":
        return (amplitude * np.sin(2 * np.pi * spec.get("frequency_hz", 440.0) * t)).astype(np.float32)
    out = np.zeros(frames, np.float32)
    out[:: max(1, round(spec.get("every_s", 0.25) * sample_rate))] = amplitude
    return out


def _load_audio(path: str, sample_rate: int) -> np.ndarray:
    import audiokit

    from ..channels import to_mono

    audio = audiokit.read(path)
    samples = to_mono(audio.samples)
    if audio.sample_rate != sample_rate:
        from ..io.resample import resample

        samples = resample(samples, audio.sample_rate, sample_rate)
    return samples[0].astype(np.float32)


def render_scene(scene: Scene, *, tail: bool = True) -> Audio:
    """Render a scene to binaural audio.

    Parameters
    ----------
    scene : Scene
    tail : bool
        Keep the HRIR tail after the last input frame (default); False: the output
        has the input's length.

    Returns
    -------
    audiokit.Audio
        Two channels (left, right) at ``scene.sample_rate``, the input length plus
        the tail (:attr:`BinauralRenderer.tail_frames`) when ``tail``.
    """
    from ..audio import Audio
    from .hrtf import HRTF
    from .renderer import BinauralRenderer

    rate = scene.sample_rate
    inputs = [_load_audio(s["audio"], rate) if "audio" in s else None for s in scene.sources]
    frames = (round(scene.duration_s * rate) if scene.duration_s is not None
              else max(len(x) for x in inputs if x is not None))
    rows = np.zeros((len(scene.sources), frames), np.float32)
    for i, source in enumerate(scene.sources):
        given = inputs[i]
        signal = given if given is not None else _signal(source["signal"], rate, frames)
        count = min(frames, len(signal))
        rows[i, :count] = signal[:count] * np.float32(10 ** (source["gain_db"] / 20))

    hrtf = HRTF.load(scene.hrtf, sample_rate=rate)
    block = scene.block_size
    renderer = BinauralRenderer(hrtf, rate, block_size=block)

    def at(keyframes: np.ndarray, t: float) -> list[float]:
        return [float(np.interp(t, keyframes[:, 0], keyframes[:, j])) for j in range(1, keyframes.shape[1])]

    ids = []
    for source in scene.sources:
        az, el, dist = at(source["keyframes"], (block - 1) / rate)
        ids.append(renderer.add_source(azimuth_deg=az % 360.0, elevation_deg=el, distance_m=dist))
    blocks = math.ceil(frames / block)
    padded = np.zeros((len(ids), blocks * block), np.float32)
    padded[:, :frames] = rows
    pieces = []
    for k in range(blocks):
        t_end = ((k + 1) * block - 1) / rate
        yaw, pitch = at(scene.listener, t_end)
        renderer.set_listener(yaw_deg=yaw, pitch_deg=pitch)
        for source_id, source in zip(ids, scene.sources):
            if len(source["keyframes"]) > 1:
                az, el, dist = at(source["keyframes"], t_end)
                renderer.move_source(source_id, azimuth_deg=az % 360.0, elevation_deg=el, distance_m=dist)
        pieces.append(renderer.process(padded[:, k * block:(k + 1) * block]))
    if tail:
        pieces.append(renderer.flush())
    out = np.concatenate(pieces, axis=1)[:, :frames + (renderer.tail_frames if tail else 0)]
    return Audio(out, rate)
