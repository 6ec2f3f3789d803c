"""Benchmark the start of audiokit's command line: whole processes, as a user runs them.

Contenders, interleaved, warm-up discarded (the Numba cache and the page cache
are warm, as on any machine after the first run):

- ``python -c "import audiokit"``, and the bare interpreter ``python -c "pass"``
  as its floor;
- ``audiokit --help``, against ``ffmpeg -hide_banner -h`` (the tool a user would
  otherwise start);
- ``audiokit loudness`` on the bundled 20 s example (``examples/example.flac``),
  against ``ffmpeg -i ... -af ebur128=peak=true -f null -`` on the same file.

It also records which heavy packages each audiokit process imported (read from
``sys.modules`` at exit in a traced run): ``--help`` and ``import audiokit``
must import none of torch, scipy, librosa or numba.

Run ``python benchmarks/bench_startup.py``; writes benchmarks/results/startup.json.
The targets are for an idle machine; the document records the load average
before and after, so a figure from a loaded machine can be told apart.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from _harness import summarize, time_interleaved, versions, write_json

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "example.flac"
EXAMPLE_SECONDS = 20.2
#: Packages whose import would show in the start of a command that does not need them.
HEAVY = ("torch", "scipy", "librosa", "numba", "av", "numpy")
REPEATS = 11
TARGETS_S = {"audiokit --help": 0.3, "audiokit loudness": 0.6}


def _command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "audiokit.cli.main", *arguments]


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)


def _imports(code: str) -> list[str]:
    """The heavy packages a Python process running ``code`` has imported when it ends."""
    probe = (f"import sys\ntry:\n    {code}\nexcept SystemExit:\n    pass\n"
             f"print(sorted(name for name in {HEAVY!r} if name in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(result.stdout.strip().splitlines()[-1].replace("'", '"'))


def main() -> None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("needs ffmpeg (Debian package ffmpeg) for the anchors")
    load_before = os.getloadavg()[0]
    contenders = {
        "python (bare)": lambda: _run([sys.executable, "-c", "pass"]),
        "import audiokit": lambda: _run([sys.executable, "-c", "import audiokit"]),
        "audiokit --help": lambda: _run(_command("--help")),
        "ffmpeg -h": lambda: _run([ffmpeg, "-hide_banner", "-h"]),
        "audiokit loudness": lambda: _run(_command("loudness", str(EXAMPLE))),
        "ffmpeg ebur128": lambda: _run([ffmpeg, "-nostats", "-hide_banner", "-i", str(EXAMPLE), "-af",
                                        "ebur128=peak=true", "-f", "null", "-"]),
    }
    times = time_interleaved(contenders, repeats=REPEATS, warmup=1)
    load_after = os.getloadavg()[0]
    help_vs_ffmpeg = summarize({k: times[k] for k in ("audiokit --help", "ffmpeg -h")},
                               audio_seconds=EXAMPLE_SECONDS, subject="audiokit --help")
    loudness_vs_ffmpeg = summarize({k: times[k] for k in ("audiokit loudness", "ffmpeg ebur128")},
                                   audio_seconds=EXAMPLE_SECONDS, subject="audiokit loudness")
    imports = {
        "import audiokit": _imports("import audiokit"),
        "audiokit --help": _imports("from audiokit.cli.main import cli; cli(['--help'])"),
        "audiokit loudness": _imports(f"from audiokit.cli.main import cli; cli(['loudness', {str(EXAMPLE)!r}])"),
    }
    summary = summarize(times, audio_seconds=EXAMPLE_SECONDS, subject="audiokit loudness")
    document = {
        "versions": versions("av", "click"),
        "input": {"path": "examples/example.flac", "seconds": EXAMPLE_SECONDS},
        "repeats": REPEATS,
        "load_average_1min": {"before": load_before, "after": load_after},
        "median_s": {name: entry["median_s"] for name, entry in summary.items()},
        "min_s": {name: entry["min_s"] for name, entry in summary.items()},
        "help_vs_ffmpeg": help_vs_ffmpeg,
        "loudness_vs_ffmpeg": loudness_vs_ffmpeg,
        "targets_s": TARGETS_S,
        "heavy_imports": imports,
    }
    path = write_json("startup", document)
    for name, seconds in document["median_s"].items():
        print(f"{name:<20} {seconds * 1000:7.0f} ms (min {document['min_s'][name] * 1000:.0f} ms)")
    print(f"imports: {imports}")
    print(f"load average {load_before:.1f} -> {load_after:.1f}; wrote {path}")


if __name__ == "__main__":
    main()
