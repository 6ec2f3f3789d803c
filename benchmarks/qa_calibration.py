"""Measure the ladder QA's mel distance per codec and bitrate on a varied corpus.

The limits in :data:`audiokit.transcode.qa.MEL_DISTANCE_LIMITS_DB` are the
worst case measured here times a margin. The corpus is what an ingest worker
meets: the bundled example at 44.1, 48 and 96 kHz and as 5.1, a tonal-plus-
noise programme at a normal and a very quiet level, white and pink noise
(noise-like content is where codecs' noise filling and band-energy coding
differ most from the master), real speech (alsa-utils' Front_Center.wav),
synthetic speech with pauses as dual-mono stereo (espeak-ng: it moves Opus's
correlation peak), pure tones at 100 Hz, 1 kHz and 5 kHz, and a near-silent
(-90 dBFS) noise. Every rung type of the presets and the table rows is
encoded from every source with QA on and the mel and level limits lifted;
the other QA checks still run, and their failures are reported, with the
offsets and in-band levels measured.

Run ``python benchmarks/qa_calibration.py``; writes
benchmarks/results/qa_calibration.json and prints the table of
docs/transcode.md.

``python benchmarks/qa_calibration.py --cost`` measures what the streaming QA
costs instead: CPU seconds of the reference and rendition analyses of
:data:`COST_SECONDS` of 48 kHz stereo (the bundled example looped) against
their anchors, the encoders of the ``spotify-like`` rungs and the decodes back,
interleaved, warm-up discarded; writes benchmarks/results/qa_cost.json.
"""

from __future__ import annotations

import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
from _harness import versions, write_json

import audiokit
from audiokit import loudness
from audiokit._arrays import BLOCK_FRAMES
from audiokit.io.resample import resample
from audiokit.io.source import open_source
from audiokit.transcode import build_ladder, qa
from audiokit.transcode.encode import encode_rendition
from audiokit.transcode.ladders import LADDERS
from audiokit.transcode.rungs import resolve_rung

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the test suite's signal generators
from _signals import notes, sine  # noqa: E402

EXAMPLE = ROOT / "examples" / "example.flac"
SPEECH = Path("/usr/share/sounds/alsa/Front_Center.wav")
SECONDS = 8.0
#: (codec, kbit/s, channels): every bitrate-per-channel row of the limits table, mono and stereo.
RUNG_TYPES = [
    ("opus", 24, 2), ("opus", 32, 1), ("opus", 64, 2), ("opus", 48, 1), ("opus", 96, 2), ("opus", 160, 2),
    ("opus", 320, 2),
    ("aac", 32, 1), ("aac", 64, 2), ("aac", 96, 2), ("aac", 64, 1), ("aac", 128, 2), ("aac", 160, 2),
    ("aac", 192, 2), ("aac", 256, 2),
    ("mp3", 32, 1), ("mp3", 64, 1), ("mp3", 128, 2), ("mp3", 192, 2), ("mp3", 320, 2),
]


def _at_lufs(samples: np.ndarray, sample_rate: int, lufs: float) -> np.ndarray:
    gain_db = lufs - loudness.measure(samples, sample_rate).integrated_lufs
    return (samples * 10 ** (gain_db / 20)).astype(np.float32)


def _tonal_plus_noise(sample_rate: int, seed: int) -> np.ndarray:
    """Harmonic notes over a pink-tilted noise bed, stereo: dense, broadband content."""
    rng = np.random.default_rng(seed)
    frames = round(SECONDS * sample_rate)
    return (notes(sample_rate, SECONDS, rng) + _pink(rng, frames, sample_rate) * 0.05).astype(np.float32)


def _pink(rng: np.random.Generator, frames: int, sample_rate: int) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal((2, frames)), axis=1)
    freqs = np.maximum(np.fft.rfftfreq(frames, 1 / sample_rate), 20.0)
    pink = np.fft.irfft(spectrum / np.sqrt(freqs), frames, axis=1)
    return pink / pink.std()


def corpus() -> dict[str, audiokit.Audio]:
    example = audiokit.read(EXAMPLE)
    excerpt = example.samples[:, :round(SECONDS * example.sample_rate)]
    left, right = excerpt
    rng = np.random.default_rng(7)
    sources = {
        "example 44.1k": audiokit.Audio(excerpt, 44100),
        "example 48k": audiokit.Audio(resample(excerpt, 44100, 48000), 48000),
        "example 96k": audiokit.Audio(resample(excerpt, 44100, 96000), 96000),
        # at -6 dB, so that its BS.775 stereo downmix (L + 0.71 C + 0.71 Ls) stays under full scale
        "example 5.1": audiokit.Audio(0.5 * np.stack([left, right, (left + right) / 2, 0.1 * (left + right),
                                                      0.7 * left, 0.7 * right]).astype(np.float32), 44100),
        "tonal+noise -14 LUFS": audiokit.Audio(_at_lufs(_tonal_plus_noise(48000, 1), 48000, -14.0), 48000),
        "tonal+noise -33 LUFS": audiokit.Audio(_at_lufs(_tonal_plus_noise(44100, 2), 44100, -33.0), 44100),
        "white noise -20 dBFS": audiokit.Audio((0.1 * rng.standard_normal((2, round(SECONDS * 48000))))
                                               .astype(np.float32), 48000),
        "pink noise -14 LUFS": audiokit.Audio(_at_lufs(_pink(rng, round(SECONDS * 44100), 44100)
                                                       .astype(np.float32), 44100, -14.0), 44100),
    }
    if SPEECH.exists():
        sources["speech (alsa Front_Center)"] = audiokit.read(SPEECH)
    if shutil.which("espeak-ng"):
        sources["speech (espeak-ng, stereo, pauses)"] = audiokit.Audio(_espeak(44100), 44100)
    for frequency in (100.0, 1000.0, 5000.0):
        sources[f"sine {frequency:g} Hz"] = audiokit.Audio(np.array(sine(frequency, 48000, duration_s=SECONDS,
                                                                         channels=2)), 48000)
    sources["noise -90 dBFS"] = audiokit.Audio((10 ** (-90 / 20) * rng.standard_normal((2, round(SECONDS * 48000))))
                                               .astype(np.float32), 48000)
    return sources


def _espeak(sample_rate: int) -> np.ndarray:
    """Sentences read by espeak-ng with 0.3-2 s pauses, SECONDS long, as dual-mono stereo."""
    rng = np.random.default_rng(3)
    parts, total = [], 0
    with tempfile.TemporaryDirectory() as folder:
        for index in range(100):
            wav = Path(folder) / f"{index}.wav"
            subprocess.run(["espeak-ng", "-s", str(150 + 10 * (index % 3)), "-w", str(wav),
                            f"Sentence {index}: the encoder makes several versions at different bitrates."],
                           check=True)
            parts += [audiokit.read(wav, sample_rate=sample_rate).samples[0],
                      np.zeros(round(rng.uniform(0.3, 2.0) * sample_rate), np.float32)]
            total += parts[-2].size + parts[-1].size
            if total >= SECONDS * sample_rate:
                break
    mono = np.concatenate(parts)[:round(SECONDS * sample_rate)]
    return np.stack([mono, 0.9 * mono]).astype(np.float32)


def measure(sources: dict[str, audiokit.Audio]) -> list[dict]:
    saved = dict(qa.MEL_DISTANCE_LIMITS_DB), dict(qa.LEVEL_TOLERANCE_DB)
    qa.MEL_DISTANCE_LIMITS_DB.update({codec: ((0, math.inf),) for codec in qa.MEL_DISTANCE_LIMITS_DB})
    qa.LEVEL_TOLERANCE_DB.update({codec: ((0, math.inf),) for codec in qa.LEVEL_TOLERANCE_DB})
    rows = []
    try:
        for name, audio in sources.items():
            rungs = [{"name": f"{codec}-{kbps}-{channels}ch", "codec": codec, "bitrate_bps": kbps * 1000,
                      "num_channels": channels} for codec, kbps, channels in RUNG_TYPES]
            with tempfile.TemporaryDirectory() as folder:
                result = build_ladder(audio, Path(folder) / "out", rungs=rungs, qa="full")
            for rendition in result.renditions + result.excluded:
                rows.append({"source": name, "rung": rendition.name, "codec": rendition.codec,
                             "bitrate_per_channel_bps": rendition.bitrate_bps // rendition.num_channels,
                             "mel_distance_db": rendition.mel_distance,
                             "offset_frames": rendition.qa.offset_frames,
                             "level_delta_db": rendition.qa.level_delta_db,
                             "loudness_delta_lu": rendition.qa.loudness_delta_lu,
                             "skipped": list(rendition.qa.skipped),
                             "other_failures": [f"{rendition.name}: {f}" for f in rendition.qa.failures]})
            print(f"{name}: {len(result.renditions)} passed, {len(result.excluded)} failed other checks", flush=True)
    finally:
        qa.MEL_DISTANCE_LIMITS_DB.clear()
        qa.MEL_DISTANCE_LIMITS_DB.update(saved[0])
        qa.LEVEL_TOLERANCE_DB.clear()
        qa.LEVEL_TOLERANCE_DB.update(saved[1])
    return rows


def worst_by_limit_row(rows: list[dict], table_name: str = "MEL_DISTANCE_LIMITS_DB",
                       key: str = "mel_distance_db") -> list[dict]:
    """The worst measured value (absolute) for each (codec, row of a qa limits table), with the current limit.

    Rows where the check was skipped (a near-silent source) do not count.
    """
    table = []
    for codec, limits in getattr(qa, table_name).items():
        for index, (minimum, limit) in enumerate(limits):
            above = limits[index - 1][0] if index else math.inf
            inside = [row for row in rows if row["codec"] == codec and minimum <= row["bitrate_per_channel_bps"] < above
                      and row[key] is not None and not row["skipped"]]
            if inside:
                worst = max(inside, key=lambda row: abs(row[key]))
                table.append({"codec": codec, "min_bitrate_per_channel_bps": minimum, "limit_db": limit,
                              "worst_db": worst[key], "worst_source": worst["source"],
                              "worst_rung": worst["rung"], "margin": limit / max(abs(worst[key]), 1e-9)})
    return table


def worst_offsets(rows: list[dict]) -> dict[str, dict]:
    """Per codec: the largest |offset| measured, and where."""
    out = {}
    for row in rows:
        if not any(text.startswith("offset") for text in row["skipped"]):
            best = out.get(row["codec"])
            if best is None or abs(row["offset_frames"]) > abs(best["offset_frames"]):
                out[row["codec"]] = {key: row[key] for key in ("offset_frames", "source", "rung")}
    return out


def _print(title: str, table: list[dict]) -> None:
    print(title)
    print(f"{'codec':5} {'kbit/s/ch':>9} {'worst':>9} {'limit':>6} {'margin':>6}  worst source / rung")
    for row in table:
        print(f"{row['codec']:5} {row['min_bitrate_per_channel_bps'] // 1000:>9} {row['worst_db']:9.3f} "
              f"{row['limit_db']:6.2f} {row['margin']:6.2f}  {row['worst_source']} / {row['worst_rung']}")


def main() -> None:
    rows = measure(corpus())
    table = worst_by_limit_row(rows)
    levels = worst_by_limit_row(rows, "LEVEL_TOLERANCE_DB", "level_delta_db")
    offsets = worst_offsets(rows)
    path = write_json("qa_calibration", {"versions": versions("av"), "seconds_per_source": SECONDS,
                                         "mel_segment_s": qa.MEL_SEGMENT_S, "rows": rows, "worst": table,
                                         "worst_level": levels, "worst_offset": offsets})
    print(path)
    _print("mel distance, dB", table)
    _print("in-band level, dB", levels)
    print("largest |offset|, frames:", offsets)
    other = sorted({failure for row in rows for failure in row["other_failures"]})
    print(f"other QA failures: {len(other)}")
    for failure in other:
        print("  " + failure)


#: Length of the programme the cost of QA is measured on, s.
COST_SECONDS = 300.0


def _cpu(run) -> tuple[float, object]:
    """(CPU seconds of every thread of this process, result) of ``run()``."""
    start = time.process_time()
    result = run()
    return time.process_time() - start, result


def cost(*, repeats: int = 3) -> dict:
    """Median CPU seconds of streaming QA and of its anchors (encode, decode back) per rung and in all."""
    example = audiokit.read(EXAMPLE)
    looped = np.tile(example.samples, (1, math.ceil(COST_SECONDS * example.sample_rate / example.num_frames)))
    master = resample(looped[:, :round(COST_SECONDS * example.sample_rate)], example.sample_rate, 48000)
    rungs = [resolve_rung(rung, source_rate=48000, source_channels=2, source_bit_depth=16)
             for rung in LADDERS["spotify-like"]]
    assert all(r.sample_rate == 48000 and r.num_channels == 2 for r in rungs)  # one master serves them all

    def analyse_master() -> qa.Reference:
        analysis = qa.ReferenceAnalysis(48000, 2, expected_frames=master.shape[1], mode="full",
                                        bit_depths=tuple(r.bit_depth for r in rungs if r.bit_depth))
        for start in range(0, master.shape[1], BLOCK_FRAMES):
            analysis.add(master[:, start:start + BLOCK_FRAMES])
        return analysis.finish()

    def decode(path: Path) -> list[np.ndarray]:
        with open_source(path) as reader:
            return list(reader.blocks(BLOCK_FRAMES))

    def analyse(reference: qa.Reference, resolved, blocks: list[np.ndarray]) -> qa.RenditionQA:
        analysis = qa.RenditionAnalysis(reference, resolved, mode="full")
        for block in blocks:
            analysis.add(block)
        return analysis.finish(measured_bitrate_bps=0)

    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for round_index in range(1 + repeats):  # round 0 warms up (kernels, filters, codecs)
            spent: dict[str, float] = {}
            spent["reference analysis"], reference = _cpu(analyse_master)
            for resolved in rungs:
                path = Path(folder) / resolved.file_name
                spent[f"encode {resolved.rung.name}"], _ = _cpu(partial(encode_rendition, master, resolved, path,
                                                                        tags={}))
                spent[f"decode {resolved.rung.name}"], blocks = _cpu(partial(decode, path))
                spent[f"analysis {resolved.rung.name}"], result = _cpu(partial(analyse, reference, resolved, blocks))
                del blocks
                if resolved.spec.lossless:
                    assert result.bit_exact, result
            if round_index:
                for name, seconds in spent.items():
                    times.setdefault(name, []).append(seconds)
    medians = {name: statistics.median(values) for name, values in times.items()}

    def total(kind: str) -> float:
        return sum(seconds for name, seconds in medians.items() if name.startswith(kind))

    analysis_s = medians["reference analysis"] + total("analysis ")
    return {"versions": versions("av", "scipy"), "programme": f"examples/example.flac looped to {COST_SECONDS:g} s, "
            "resampled to 48 kHz stereo", "rungs": [r.rung.name for r in rungs], "repeats": repeats,
            "median_cpu_s": medians, "qa_analysis_cpu_s": analysis_s, "encode_cpu_s": total("encode "),
            "decode_back_cpu_s": total("decode "), "analysis_over_encode": analysis_s / total("encode "),
            "analysis_and_decode_over_encode": (analysis_s + total("decode ")) / total("encode ")}


if __name__ == "__main__":
    if sys.argv[1:] == ["--cost"]:
        document = cost()
        print(write_json("qa_cost", document))
        for name, seconds in document["median_cpu_s"].items():
            print(f"{name:24} {seconds:7.2f} s CPU")
        print(f"QA analysis {document['qa_analysis_cpu_s']:.2f} s, encoders {document['encode_cpu_s']:.2f} s, "
              f"decode back {document['decode_back_cpu_s']:.2f} s: analysis / encode "
              f"{document['analysis_over_encode']:.3f}, (analysis + decode) / encode "
              f"{document['analysis_and_decode_over_encode']:.3f}")
    else:
        main()
