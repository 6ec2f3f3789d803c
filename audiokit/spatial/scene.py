"""JSON scenes: an HRTF, a listener and sources that may move.

A scene file (every field validated; errors name the JSON path, e.g.
``scene.sources[1].trajectory[0]``)::

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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import FormatError, ParameterError

__all__ = ["SIGNALS", "Scene", "load_scene", "render_scene"]

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


def _number(value, where: str, *, low=-math.inf, high=math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParameterError(f"{where}: {value!r} is not a finite number")
    if not low <= value <= high:
        raise ParameterError(f"{where}: {value} is outside {low}..{high}")
    return float(value)


def _keyframes(rows, where: str, width: int) -> np.ndarray:
    if not isinstance(rows, list) or not rows:
        raise ParameterError(f"{where}: expected a non-empty list of keyframes")
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            what = "[t_s, azimuth_deg, elevation_deg, distance_m]" if width == 4 else "[t_s, yaw_deg, pitch_deg]"
            raise ParameterError(f"{where}[{i}]: {row!r}; expected {what}")
        values = [_number(v, f"{where}[{i}][{j}]") for j, v in enumerate(row)]
        if width == 4:
            _number(values[2], f"{where}[{i}][2] (elevation_deg)", low=-90, high=90)
            _number(values[3], f"{where}[{i}][3] (distance_m)", low=1e-6)
        if out and values[0] <= out[-1][0]:
            raise ParameterError(f"{where}[{i}][0]: keyframe times must increase")
        out.append(values)
    return np.array(out)


def load_scene(path_or_dict, *, base_dir=None) -> Scene:
    """Read and validate a scene.

    Parameters
    ----------
    path_or_dict : str, os.PathLike or dict
        A JSON file, or its parsed content.
    base_dir : str or os.PathLike, optional
        Where relative paths are resolved (default: the file's folder).

    Raises
    ------
    ParameterError
        Naming the JSON path of the first bad field.
    FormatError
        If the file is not valid JSON.
    """
    if isinstance(path_or_dict, dict):
        data = path_or_dict
        base = Path(base_dir or ".")
    else:
        path = Path(path_or_dict)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise FormatError(f"{path}: cannot read the scene as JSON ({error})") from None
        base = Path(base_dir) if base_dir is not None else path.parent
    if not isinstance(data, dict):
        raise ParameterError("scene: expected a JSON object")
    known = {"hrtf", "sample_rate", "block_size", "duration_s", "listener", "sources"}
    for key in data:
        if key not in known:
            raise ParameterError(f"scene.{key}: unknown field; expected one of {', '.join(sorted(known))}")

    hrtf = data.get("hrtf", "spherical-head")
    if not isinstance(hrtf, str) or not hrtf:
        raise ParameterError(f"scene.hrtf: {hrtf!r}; expected 'spherical-head' or a SOFA path")
    if hrtf != "spherical-head":
        hrtf = str((base / hrtf) if not Path(hrtf).is_absolute() else Path(hrtf))
    rate = data.get("sample_rate")
    if isinstance(rate, bool) or not isinstance(rate, int) or not 8000 <= rate <= 384000:
        raise ParameterError(f"scene.sample_rate: {rate!r}; expected an integer 8000..384000 Hz")
    block = data.get("block_size", _DEFAULT_BLOCK)
    if isinstance(block, bool) or not isinstance(block, int) or not 1 <= block <= 65536:
        raise ParameterError(f"scene.block_size: {block!r}; expected an integer 1..65536")
    duration = data.get("duration_s")
    if duration is not None:
        duration = _number(duration, "scene.duration_s", low=1e-6, high=24 * 3600)

    listener = data.get("listener", {})
    if not isinstance(listener, dict):
        raise ParameterError("scene.listener: expected an object")
    if "orientation" in listener:
        orientation = _keyframes(listener["orientation"], "scene.listener.orientation", 3)
    else:
        orientation = np.array([[0.0, _number(listener.get("yaw_deg", 0.0), "scene.listener.yaw_deg"),
                                 _number(listener.get("pitch_deg", 0.0), "scene.listener.pitch_deg")]])

    rows = data.get("sources")
    if not isinstance(rows, list) or not rows:
        raise ParameterError("scene.sources: expected a non-empty list")
    sources = []
    for i, row in enumerate(rows):
        where = f"scene.sources[{i}]"
        if not isinstance(row, dict):
            raise ParameterError(f"{where}: expected an object")
        if ("audio" in row) == ("signal" in row):
            raise ParameterError(f"{where}: give exactly one of 'audio' or 'signal'")
        source = {"gain_db": _number(row.get("gain_db", 0.0), f"{where}.gain_db", low=-200, high=60)}
        if "audio" in row:
            if not isinstance(row["audio"], str):
                raise ParameterError(f"{where}.audio: expected a file path")
            audio = Path(row["audio"])
            source["audio"] = str(audio if audio.is_absolute() else base / audio)
        else:
            signal = row["signal"]
            if not isinstance(signal, dict) or signal.get("type") not in SIGNALS:
                raise ParameterError(f"{where}.signal.type: expected one of {', '.join(SIGNALS)}")
            for key, value in signal.items():
                if key != "type":
                    _number(value, f"{where}.signal.{key}")
            source["signal"] = dict(signal)
        if ("position" in row) == ("trajectory" in row):
            raise ParameterError(f"{where}: give exactly one of 'position' or 'trajectory'")
        if "position" in row:
            position = row["position"]
            if not isinstance(position, list) or len(position) != 3:
                raise ParameterError(f"{where}.position: expected [azimuth_deg, elevation_deg, distance_m]")
            source["keyframes"] = _keyframes([[0.0, *position]], f"{where}.position", 4)
        else:
            source["keyframes"] = _keyframes(row["trajectory"], f"{where}.trajectory", 4)
        sources.append(source)
    if duration is None and any("signal" in s for s in sources):
        raise ParameterError("scene.duration_s: required when a source uses a built-in signal")
    return Scene(hrtf=hrtf, sample_rate=rate, block_size=block, duration_s=duration,
                 listener=orientation, sources=tuple(sources))


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

    audio = audiokit.read(path)
    samples = audio.samples.mean(axis=0, keepdims=True)
    if audio.sample_rate != sample_rate:
        from ..io.resample import resample

        samples = resample(samples, audio.sample_rate, sample_rate)
    return samples[0].astype(np.float32)


def render_scene(scene: Scene):
    """Render a scene to binaural audio.

    Returns
    -------
    audiokit.Audio
        Two channels (left, right) at ``scene.sample_rate``, the input length plus the tail.
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
        signal = inputs[i] if inputs[i] is not None else _signal(source["signal"], rate, frames)
        count = min(frames, len(signal))
        rows[i, :count] = signal[:count] * np.float32(10 ** (source["gain_db"] / 20))

    hrtf = (HRTF.spherical_head(rate) if scene.hrtf == "spherical-head"
            else HRTF.from_sofa(scene.hrtf, sample_rate=rate))
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
    pieces.append(renderer.flush())
    out = np.concatenate(pieces, axis=1)[:, :frames + renderer.tail_frames]
    return Audio(out, rate)
