"""audiokit.analysis never imports audiokit.models; the learned segmenter plugs in through the entry-point seam."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest

from audiokit import Audio
from audiokit.analysis import SegmentationInput, analyze, segments
from audiokit.analysis.segments import (
    SEGMENTER_GROUP,
    load_segmenter,
    registered_segmenters,
    segments_from_labels,
)
from audiokit.errors import MissingDependencyError, ParameterError

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI (the test extra installs it)
    import tomli as tomllib

#: the module (``audiokit.analysis.segments`` is also the name of the function the package exports)
segments_module = importlib.import_module("audiokit.analysis.segments")
ROOT = Path(__file__).resolve().parents[2]
ANALYSIS = ROOT / "audiokit" / "analysis"


def _imported_modules(path: Path) -> list[str]:
    """Absolute names of every module a file imports, relative imports resolved, plus import_module() strings."""
    package = ["audiokit", "analysis"]
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names += [module] + [f"{module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__"):
            names += [arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
    return names


def test_no_analysis_source_imports_the_model_layer():
    sources = sorted(ANALYSIS.glob("*.py"))
    assert len(sources) >= 7
    offenders = {path.name: name for path in sources for name in _imported_modules(path)
                 if name == "audiokit.models" or name.startswith("audiokit.models.") or name.startswith("models")}
    assert offenders == {}


def test_the_static_check_sees_relative_and_dynamic_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from ..models.whisper import vad\nimport importlib\nimportlib.import_module('audiokit.models')\n")
    names = _imported_modules(sample)
    assert "audiokit.models.whisper" in names and "audiokit.models" in names


def test_importing_and_running_analysis_loads_no_model_module():
    code = ("import sys, numpy as np\n"
            "import audiokit.analysis\n"
            "from audiokit import Audio\n"
            "from audiokit.analysis import analyze\n"
            "tone = np.sin(2 * np.pi * 440 * np.arange(44100) / 44100).astype(np.float32)\n"
            "analyze(Audio(tone, 44100), segment_method='energy')\n"
            "print(sorted(m for m in sys.modules if m.startswith('audiokit.models') or m == 'torch'))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_installed_metadata_registers_the_learned_segmenter_as_pyproject_says():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"][SEGMENTER_GROUP]
    installed = {point.name: point.value for point in entry_points(group=SEGMENTER_GROUP)}
    assert {name: point.value for name, point in registered_segmenters().items()} == installed
    assert declared == {"learned": "audiokit.models.segmentation:LearnedSegmenter"}
    assert installed == declared, "the installed metadata is stale: pip install -e ."


def test_no_registered_segmenter_falls_back_or_raises(monkeypatch):
    monkeypatch.setattr(segments_module, "registered_segmenters", lambda: {})
    tone = np.sin(2 * np.pi * 440 * np.arange(2 * 22050) / 22050).astype(np.float32)
    with pytest.warns(RuntimeWarning, match=SEGMENTER_GROUP):
        result = segments(tone, 22050)
    assert result.method == "energy" and SEGMENTER_GROUP in result.fallback_reason
    with pytest.raises(MissingDependencyError, match="no segmenter named 'learned'"):
        segments(tone, 22050, method="learned")
    with pytest.raises(MissingDependencyError, match="'vad'"):
        load_segmenter("vad")


def _signal(labels: list[tuple[str, int]], frame_rate: float = 22050 / 512) -> tuple[np.ndarray, SegmentationInput]:
    per_frame = np.array([label for label, count in labels for _ in range(count)], dtype=object)
    count = per_frame.size
    times = np.arange(count) / frame_rate
    duration = (count - 1) / frame_rate
    signal = SegmentationInput(mono=np.zeros(int(duration * 22050), np.float32), sample_rate=22050,
                               frame_rate=frame_rate, frame_times_s=times, rms=np.zeros(count, np.float32),
                               silent=np.zeros(count, bool), duration_s=duration)
    return per_frame, signal


def test_short_runs_join_the_run_before_and_a_short_first_run_the_runs_after():
    # at 43.07 frames/s a run under 0.25 s is at most 10 frames
    labels, signal = _signal([("other", 4), ("speech", 5), ("music", 40), ("speech", 6), ("music", 30),
                              ("silence", 60)])
    result = segments_from_labels(labels, signal, method="test")
    assert [s.label for s in result.segments] == ["music", "silence"]
    assert result.segments[0].start_s == 0.0 and result.segments[-1].end_s == pytest.approx(signal.duration_s, abs=1e-3)
    assert result.music_ratio + result.silence_ratio == pytest.approx(1.0, abs=1e-3) and result.method == "test"
    assert result.segments[1].start_s == pytest.approx((85 - 0.5) / signal.frame_rate, abs=1e-3)
    with pytest.raises(ParameterError, match="one label per analysis frame"):
        segments_from_labels(labels[:-1], signal, method="test")
    with pytest.raises(ParameterError, match="'noise'"):
        segments_from_labels(np.where(labels == "other", "noise", labels), signal, method="test")


def test_a_given_segmenter_replaces_the_method_and_sees_the_shared_frames():
    sample_rate = 48000
    t = np.arange(3 * sample_rate) / sample_rate
    x = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    x[sample_rate : 2 * sample_rate] = 0
    seen: list[SegmentationInput] = []

    def halves(signal: SegmentationInput):
        seen.append(signal)
        labels = np.where(signal.silence_mask(), "silence", "music").astype(object)
        return segments_from_labels(labels, signal, method="halves")

    result = analyze(Audio(np.stack([x, x]), sample_rate), segmenter=halves)
    (signal,) = seen
    assert signal.sample_rate == 16000 and signal.mono.size == 3 * 16000  # the rate speech models take
    assert signal.frame_times_s.size == signal.rms.size == signal.silent.size == 1 + 3 * 22050 // 512
    assert result.segments.method == "halves"
    assert [s.label for s in result.segments.segments] == ["music", "silence", "music"]
    start, end = result.segments.segments[1].start_s, result.segments.segments[1].end_s
    assert start == pytest.approx(1.0, abs=0.06) and end == pytest.approx(2.0, abs=0.06)
