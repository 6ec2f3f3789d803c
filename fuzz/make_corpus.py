"""Write the fuzzing seed corpus: small valid files of every format audiokit reads, one per file.

Each seed is the extension byte that :mod:`fuzz_io` maps back to the
extension, followed by the file's bytes. Sources are short harmonic notes and,
where alsa-utils is installed, real speech.

Usage: ``python fuzz/make_corpus.py FOLDER``
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".m4a", ".opus", ".aiff", ".wma", ".webm", ".bin")
_SPEECH = Path("/usr/share/sounds/alsa/Front_Center.wav")


def _notes(sample_rate: int, duration_s: float, channels: int) -> np.ndarray:
    t = np.arange(round(duration_s * sample_rate)) / sample_rate
    tone = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(1, 5)) * np.exp(-3 * t)
    return (0.4 * tone * np.linspace(1.0, 0.8, channels)[:, None]).astype(np.float32)


def make_corpus(folder: Path) -> list[Path]:
    """Write the seeds into ``folder``; return their paths."""
    import soundfile

    import audiokit

    folder.mkdir(parents=True, exist_ok=True)
    sources = {"notes": audiokit.Audio(_notes(44100, 0.25, 2), 44100)}
    if _SPEECH.exists():
        data, rate = soundfile.read(_SPEECH, dtype="float32")
        sources["speech"] = audiokit.Audio(data[: rate // 4], rate)
    seeds = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, audio in sources.items():
            for extension in (".wav", ".flac", ".mp3", ".ogg", ".m4a", ".aiff", ".webm"):
                if extension == ".mp3" and audio.sample_rate not in (44100, 48000):
                    continue
                encoded = audiokit.write(Path(scratch) / f"{name}{extension}", audio)
                seeds.append((extension, encoded.read_bytes(), f"{name}{extension}"))
        gsm = Path(scratch) / "gsm.wav"
        soundfile.write(gsm, _notes(8000, 0.25, 1)[0], 8000, subtype="GSM610", format="WAV")
        seeds.append((".wav", gsm.read_bytes(), "gsm.wav"))
    paths = []
    for extension, data, name in seeds:
        path = folder / f"seed-{name}"
        path.write_bytes(bytes([EXTENSIONS.index(extension)]) + data)
        paths.append(path)
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python fuzz/make_corpus.py FOLDER")
    for written in make_corpus(Path(sys.argv[1])):
        print(written)
