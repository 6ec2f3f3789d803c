"""Benchmark ``audiokit ingest`` (core stages) against a shell pipeline of Debian's ffmpeg CLI.

Input: a batch of 44.1 kHz stereo 16-bit FLAC tracks (default 4 tracks of
5 minutes), each built from the bundled ``examples/example.flac`` looped and
varied per track (circular offset, overall gain, per-loop gain drift, channel
swap), so the content is real-ish music and no two tracks are identical.

Contenders, interleaved, warm-up discarded:

- ``audiokit``: ``ingest(tracks, fresh_out_dir, IngestOptions(stages="core"), jobs=2)``
  -- probe, then one streaming decode feeding the loudness meter and the spotify-like ladder (Ogg Opus 48 kHz
  24/96/160/320 kbit/s constrained VBR, AAC-LC .m4a 128/256 kbit/s, FLAC at the
  source rate and depth) with its default QA, catalog and manifest;
- ``ffmpeg_pipeline``: a shell pipeline, ``xargs -P 2``, two tracks at a time; per
  track one ``ffmpeg -af ebur128=peak=true -f null -`` measurement pass, then one
  ``ffmpeg`` process writing the same 7 renditions (libopus ``-vbr constrained``
  at 48 kHz, aac, flac) with the same bitrates.

- ``audiokit_ray`` (when Ray is installed): the same ``ingest`` with
  ``executor="ray"`` on a local Ray runtime of ``JOBS`` CPUs, started once before
  the rounds (its start-up time is reported apart), one 1-CPU task per track.

Throughput is reported as x-realtime (audio seconds per wall second) and
tracks per minute; the headlines are audiokit's throughput over the ffmpeg
pipeline's (target: >= 1.2x) and Ray's over the local pool's
(issue 11: expect near parity on 2 cores).

Then, for the cluster estimate, one more track goes through the model stages
a music catalog runs (tags, analysis, speech; transcript and moderation
skip music) in this process, with the networks' forward passes timed apart:
tracks per hour per CPU core follow from the measured per-track stage
seconds, and a GPU can only remove the forward-pass time (see
:func:`model_stage_costs`).

Run ``python benchmarks/bench_ingest.py [--tracks N] [--repeats R] [--quick]``;
writes benchmarks/results/ingest.json and ingest.png. ``--quick`` is 2 tracks of
60 s, one repeat. Needs Debian's ``ffmpeg`` (``apt-get install -y ffmpeg``).

``--all-stages`` measures every stage instead (:func:`all_stages`), each
contender a whole process, interleaved, warm-up discarded:

- ``audiokit_ingest_all_episode``: ``audiokit ingest episode.wav --stages all``
  on the test suite's espeak episode (``--episode-minutes``, default 6: two
  voices, a music bed under the intro), 22.05 kHz mono 16-bit WAV;
- ``audiokit_ingest_all_demo``: the ingest ``make demo`` runs, ``audiokit ingest
  examples/example.flac --stages all`` (20 s of music);
- ``faster_whisper_transcribe_episode`` (anchor): plain faster-whisper
  (``WhisperModel`` on the same tiny.en CTranslate2 weights, int8, beam 5,
  ``vad_filter=True``) transcribing the episode in a process of its own: the
  transcript alone, as the anchor library makes it.

Each stage's seconds (from the last round's manifests) go into
benchmarks/results/ingest_all.json beside the wall and CPU seconds.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _harness import RESULTS_DIR, summarize, time_interleaved, versions, write_json

import audiokit
from audiokit.pipeline import IngestOptions, ingest, read_manifest
from audiokit.transcode import LADDERS
from audiokit.transcode.rungs import CODECS

try:
    import ray
except ImportError:  # the ray contender is left out
    ray = None

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "example.flac"
PRESET = "spotify-like"
JOBS = 2
SAMPLE_RATE = 44100
BIT_DEPTH = 16
#: Throughput over the ffmpeg pipeline that the core stages aim for.
TARGET_RATIO = 1.2


def make_tracks(folder: Path, num_tracks: int, duration_s: float) -> list[Path]:
    """``num_tracks`` FLAC tracks of ``duration_s``: the example looped, varied per track."""
    example = audiokit.read(EXAMPLE)
    if example.sample_rate != SAMPLE_RATE or example.num_channels != 2:
        raise SystemExit(f"bench_ingest: {EXAMPLE} is not 44.1 kHz stereo")
    loop = example.samples.astype(np.float64)
    frames = round(duration_s * SAMPLE_RATE)
    paths = []
    for index in range(num_tracks):
        generator = np.random.default_rng(1000 + index)
        offset = int(generator.integers(loop.shape[1]))
        source = np.roll(loop, -offset, axis=1)
        if index % 2:
            source = source[::-1]  # swap left and right
        repeats = -(-frames // loop.shape[1])
        samples = np.tile(source, repeats)[:, :frames]
        # Overall level -1 to -9 dB, plus a slow per-loop drift of +-3 dB (phrase dynamics).
        t = np.arange(frames) / SAMPLE_RATE
        drift_db = 3.0 * np.sin(2 * np.pi * t / (loop.shape[1] / SAMPLE_RATE * generator.uniform(2, 5))
                                + generator.uniform(0, 2 * np.pi))
        gain_db = -1.0 - 8.0 * index / max(num_tracks - 1, 1) + drift_db - 3.0
        samples = samples * 10 ** (gain_db / 20)
        peak = np.max(np.abs(samples))
        if peak > 0.98:
            samples *= 0.98 / peak
        path = folder / f"track{index + 1:02d}.flac"
        audiokit.write(path, audiokit.Audio(samples.astype(np.float32), SAMPLE_RATE), bit_depth=BIT_DEPTH,
                       tags={"title": f"bench track {index + 1}", "artist": "audiokit bench"})
        paths.append(path)
    return paths


def ffmpeg_rendition_args() -> list[str]:
    """Output arguments of the one-process ffmpeg ladder: the preset's rungs, same encoders and bitrates."""
    args = []
    for rung in LADDERS[PRESET]:
        name = f'"$out/{rung.name}{CODECS[rung.codec].extension}"'
        if rung.codec == "opus":
            args += ["-map", "0:a", "-c:a", "libopus", "-b:a", str(rung.bitrate_bps), "-vbr", "constrained",
                     "-ar", "48000", name]
        elif rung.codec == "aac":
            args += ["-map", "0:a", "-c:a", "aac", "-b:a", str(rung.bitrate_bps), name]
        elif rung.codec == "flac":
            args += ["-map", "0:a", "-c:a", "flac", name]  # source rate and depth (s16 for a 16-bit source)
        else:
            raise SystemExit(f"bench_ingest: no ffmpeg mapping for codec {rung.codec}")
    return args


def write_track_script(path: Path, ffmpeg: str) -> str:
    """A POSIX sh script ``track.sh OUT_DIR TRACK``: ebur128 pass, then the 7 renditions in one process."""
    script = "\n".join([
        "#!/bin/sh",
        "set -e",
        'out="$1/$(basename "$2" .flac)"',
        'mkdir -p "$out"',
        f'{ffmpeg} -nostdin -hide_banner -nostats -i "$2" -af ebur128=peak=true -f null - 2> "$out/ebur128.txt"',
        f'{ffmpeg} -nostdin -loglevel error -y -i "$2" ' + " ".join(ffmpeg_rendition_args()),
        "",
    ])
    path.write_text(script)
    path.chmod(0o755)
    return script


def model_stage_costs(track: Path, out: Path) -> dict:
    """Seconds per stage of one ``tags,analysis,speech`` ingest of ``track``, and the tagger's forward passes.

    The model stages' weights are loaded (and their kernels compiled) by a
    discarded first ingest, as a Ray model actor does once before its first
    track. The forward-pass seconds are what a GPU could take away; the rest
    of a model stage (resampling, mel front end, Silero VAD, the analysis
    features) stays on the actor's CPU.
    """
    from audiokit.models.tagging.registry import load_network
    from audiokit.pipeline.model_stages import TAG_MODELS

    # In this process (no time limit: no worker), where the hooks below see the networks' passes.
    options = IngestOptions(ladder=PRESET, stages="tags,analysis,speech", track_timeout_s=math.inf)
    ingest([str(track)], fresh(out), options, jobs=1)  # warm-up: load the models, compile the kernels
    forward_s = []

    def start_clock(module, inputs):
        module._bench_started = time.perf_counter()

    def stop_clock(module, inputs, outputs):
        forward_s.append(time.perf_counter() - module._bench_started)

    hooks = []
    for model in TAG_MODELS:
        network = load_network(model, "cpu")
        hooks += [network.register_forward_pre_hook(start_clock), network.register_forward_hook(stop_clock)]
    try:
        summary = ingest([str(track)], fresh(out), options, jobs=1)
    finally:
        for hook in hooks:
            hook.remove()
    [result] = summary.results
    if result.status != "ingested":
        raise SystemExit(f"bench_ingest: model stages failed: {result.error}")
    manifest = read_manifest(Path(result.manifest_path))
    return {"stage_seconds": {name: report["seconds"] for name, report in manifest["stages"].items()},
            "stage_status": {name: report["status"] for name, report in manifest["stages"].items()},
            "tagger_forward_seconds": sum(forward_s)}


def cluster_estimate(core_stage_seconds: dict, costs: dict, duration_s: float) -> dict:
    """Tracks per hour per CPU core and per GPU, from measured per-track stage seconds.

    One 1-CPU Ray task keeps one core busy for the core stages' seconds; the
    model stages on CPUs add theirs. On a GPU actor only the tagger's forward
    passes move to the GPU (their GPU time is not measured here: no GPU), so
    the actor's CPU-side seconds bound a GPU actor's rate from above.
    """
    model_names = ("tags", "analysis", "speech")
    core_s = sum(core_stage_seconds.values())
    model_s = sum(costs["stage_seconds"][name] for name in model_names)
    cpu_side_model_s = model_s - costs["tagger_forward_seconds"]
    return {
        "track_duration_s": duration_s,
        "core_stages_cpu_seconds_per_track": core_s,
        "model_stages_cpu_seconds_per_track": model_s,
        "tagger_forward_seconds_per_track": costs["tagger_forward_seconds"],
        "model_stages_cpu_side_seconds_per_track": cpu_side_model_s,
        "tracks_per_hour_per_core_core_stages": 3600.0 / core_s,
        "tracks_per_hour_per_core_with_model_stages_on_cpu": 3600.0 / (core_s + model_s),
        "tracks_per_hour_per_gpu_actor_upper_bound": 3600.0 / cpu_side_model_s,
    }


def fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _process_round(command: list[str], cpu: list[float], out: Path | None = None) -> None:
    """Run ``command`` as a whole process (into a fresh ``out`` if given); append its CPU seconds to ``cpu``."""
    if out is not None:
        shutil.rmtree(out, ignore_errors=True)
    before = os.times()
    completed = subprocess.run(command, capture_output=True, text=True)
    after = os.times()
    if completed.returncode != 0:
        raise SystemExit(f"bench_ingest: {' '.join(command)} failed ({completed.returncode}):\n{completed.stderr[-2000:]}")
    cpu.append((after.children_user - before.children_user) + (after.children_system - before.children_system))


def all_stages(minutes: float, repeats: int, warmup: int) -> None:
    """Time ``ingest --stages all`` on an espeak episode and on the demo input, whole processes, with the anchor."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from _episodes import episode

    from audiokit.models.whisper.registry import resolve_model

    work = Path(tempfile.mkdtemp(prefix="bench_ingest_all."))
    try:
        made = episode(minutes)
        path = made.write(work / "episode.wav")
        episode_s = made.duration_s
        ingest_cli = [sys.executable, "-m", "audiokit.cli.main", "ingest"]
        weights = resolve_model("tiny.en").ctranslate2_dir
        anchor = [sys.executable, "-c",
                  "import sys\nfrom faster_whisper import WhisperModel\n"
                  f"model = WhisperModel({str(weights)!r}, device='cpu', compute_type='int8')\n"
                  f"segments, _ = model.transcribe({str(path)!r}, beam_size=5, language='en', vad_filter=True)\n"
                  "print(' '.join(segment.text.strip() for segment in segments))"]
        outs = {"audiokit_ingest_all_episode": work / "out_episode", "audiokit_ingest_all_demo": work / "out_demo"}
        commands = {
            "audiokit_ingest_all_episode": [*ingest_cli, str(path), "-o", str(outs["audiokit_ingest_all_episode"]),
                                            "--stages", "all"],
            "audiokit_ingest_all_demo": [*ingest_cli, str(EXAMPLE), "-o", str(outs["audiokit_ingest_all_demo"]),
                                         "--stages", "all"],
            "faster_whisper_transcribe_episode": anchor,
        }
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        load_before = os.getloadavg()
        times = time_interleaved(
            {name: (lambda name=name: _process_round(commands[name], cpu[name], outs.get(name))) for name in commands},
            repeats=repeats, warmup=warmup)
        load_after = os.getloadavg()
        audio_s = {"audiokit_ingest_all_episode": episode_s, "audiokit_ingest_all_demo": audiokit.probe(EXAMPLE).duration_s,
                   "faster_whisper_transcribe_episode": episode_s}
        results = {}
        for name, values in times.items():
            median_cpu = statistics.median(cpu[name][warmup:])
            results[name] = {"median_s": statistics.median(values), "min_s": min(values), "repeats": len(values),
                             "x_realtime": audio_s[name] / statistics.median(values), "median_cpu_s": median_cpu,
                             "audio_s": audio_s[name]}
        stages = {}
        for name, out in outs.items():
            manifest = read_manifest(next(out.glob("tracks/*/manifest.json")))
            stages[name] = {stage: report["seconds"] for stage, report in manifest["stages"].items()}
        document = {
            "versions": versions("torch", "faster-whisper", "ctranslate2", "onnxruntime", "silero-vad"),
            "load_average_1min": {"before": load_before[0], "after": load_after[0]},
            "input": {"episode_minutes_asked": minutes, "episode_duration_s": episode_s,
                      "episode_sample_rate": made.sample_rate, "demo_file": EXAMPLE.name},
            "repeats": repeats,
            "warmup": warmup,
            "results": results,
            "stage_seconds_last_round": stages,
        }
        written = write_json("ingest_all", document)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name, row in results.items():
        print(f"{name:36s} {row['median_s']:7.1f} s wall  {row['median_cpu_s']:7.1f} CPU s  "
              f"{row['x_realtime']:6.1f}x realtime")
    for name, seconds in stages.items():
        print(name, {stage: round(value, 2) for stage, value in seconds.items()})
    print(f"load average before {load_before}, after {load_after}; wrote {written}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tracks", type=int, default=4, help="tracks in the batch (default 4)")
    parser.add_argument("--duration", type=float, default=300.0, help="seconds per track (default 300)")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds after the warm-up (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="discarded rounds (default 1)")
    parser.add_argument("--quick", action="store_true", help="2 tracks of 60 s, 1 repeat")
    parser.add_argument("--all-stages", action="store_true",
                        help="time ingest --stages all on an espeak episode and the demo input instead (all_stages)")
    parser.add_argument("--episode-minutes", type=float, default=6.0, help="--all-stages episode length (default 6)")
    args = parser.parse_args()
    if args.all_stages:
        all_stages(args.episode_minutes, args.repeats, args.warmup)
        return
    if args.quick:
        args.tracks, args.duration, args.repeats = 2, 60.0, 1
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        sys.exit("bench_ingest: Debian's ffmpeg is needed for the anchor: apt-get install -y ffmpeg")
    ffmpeg_version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout.split("\n")[0]

    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="bench_ingest."))
    try:
        tracks_dir = work / "tracks"
        tracks_dir.mkdir()
        started = time.perf_counter()
        tracks = make_tracks(tracks_dir, args.tracks, args.duration)
        print(f"made {len(tracks)} tracks of {args.duration:.0f} s in {time.perf_counter() - started:.1f} s",
              flush=True)
        audio_seconds = args.tracks * args.duration
        script_path = work / "track.sh"
        script = write_track_script(script_path, ffmpeg)
        pipeline = f'ls "{tracks_dir}"/*.flac | xargs -P {JOBS} -n 1 sh "{script_path}" "$OUT"'
        options = IngestOptions(ladder=PRESET, stages="core")
        last = {}

        def run_audiokit():
            out = fresh(work / "audiokit_out")
            summary = ingest([str(p) for p in tracks], out, options, jobs=JOBS, force=True)
            if summary.counts.get("ingested") != len(tracks):
                raise SystemExit(f"bench_ingest: audiokit ingest failed: {summary.to_dict()}")
            last["audiokit"] = summary

        def run_ffmpeg():
            out = fresh(work / "ffmpeg_out")
            subprocess.run(["sh", "-c", pipeline], check=True, env={**os.environ, "OUT": str(out)})

        def timed_round(name, run):
            def wrapped():
                t0 = time.perf_counter()
                run()
                print(f"  {name:16s} {time.perf_counter() - t0:7.1f} s", flush=True)
            return wrapped

        contenders = {"audiokit": timed_round("audiokit", run_audiokit),
                      "ffmpeg_pipeline": timed_round("ffmpeg_pipeline", run_ffmpeg)}
        ray_start_s = None
        if ray is not None:
            t0 = time.perf_counter()
            ray.init(num_cpus=JOBS, include_dashboard=False, log_to_driver=False)
            ray_start_s = time.perf_counter() - t0

            def run_ray():
                out = fresh(work / "ray_out")
                summary = ingest([str(p) for p in tracks], out, options, force=True, executor="ray")
                if summary.counts.get("ingested") != len(tracks):
                    raise SystemExit(f"bench_ingest: ingest --executor ray failed: {summary.to_dict()}")

            contenders["audiokit_ray"] = timed_round("audiokit_ray", run_ray)
        try:
            times = time_interleaved(contenders, repeats=args.repeats, warmup=args.warmup)
        finally:
            if ray is not None:
                ray.shutdown()
        load_after = os.getloadavg()
        summary = summarize(times, audio_seconds=audio_seconds, subject="audiokit")
        for row in summary.values():
            row["tracks_per_minute"] = args.tracks * 60.0 / row["median_s"]
        ratio = summary["ffmpeg_pipeline"]["audiokit_speedup"]

        # Where audiokit's time goes (last timed round) and sanity checks of both outputs.
        stage_seconds: dict[str, list[float]] = {}
        renditions = None
        for result in last["audiokit"].results:
            manifest = read_manifest(Path(result.manifest_path))
            for stage, report in manifest["stages"].items():
                stage_seconds.setdefault(stage, []).append(report["seconds"])
            renditions = renditions or [
                {key: r[key] for key in ("name", "measured_bitrate_bps", "size_bytes")}
                for r in manifest["ladder"]["renditions"]]
        ffmpeg_check = []
        for track in tracks:
            folder = work / "ffmpeg_out" / track.stem
            text = (folder / "ebur128.txt").read_text()
            integrated = re.findall(r"I:\s+(-?[\d.]+) LUFS", text)
            ffmpeg_check.append({"track": track.name, "outputs": sorted(p.name for p in folder.iterdir()),
                                 "integrated_lufs": float(integrated[-1]) if integrated else None})
        audiokit_lufs = [read_manifest(Path(r.manifest_path))["loudness"].get("integrated_lufs")
                         for r in last["audiokit"].results]
        core_stage_seconds = {stage: statistics.mean(values) for stage, values in stage_seconds.items()}
        print("model stage costs on one more track ...", flush=True)
        costs = model_stage_costs(tracks[0], work / "model_out")
        estimate = cluster_estimate(core_stage_seconds, costs, args.duration)

        document = {
            "input": {"num_tracks": args.tracks, "duration_s_per_track": args.duration,
                      "audio_seconds": audio_seconds, "sample_rate": SAMPLE_RATE, "channels": 2,
                      "format": f"FLAC {BIT_DEPTH}-bit",
                      "content": "examples/example.flac looped, per-track offset, gain, drift, channel swap",
                      "preset": PRESET, "rungs": [rung.to_dict() for rung in LADDERS[PRESET]],
                      "quick": args.quick},
            "versions": {**versions("av"), "ffmpeg_cli": ffmpeg_version},
            "jobs": JOBS,
            "machine_cores": os.cpu_count(),
            "repeats": args.repeats,
            "warmup": args.warmup,
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in load_after],
            "contenders": {
                "audiokit": f"ingest(tracks, out, IngestOptions(ladder={PRESET!r}, stages='core'), "
                            f"jobs={JOBS}, force=True), fresh out dir per round (ladder QA on: the default)",
                "ffmpeg_pipeline": {"command": pipeline, "track_script": script},
            },
            "times_s": times,
            "summary": summary,
            "audiokit_throughput_ratio": ratio,
            "target_ratio": TARGET_RATIO,
            "meets_target": ratio >= TARGET_RATIO,
            "audiokit_stage_seconds_mean": core_stage_seconds,
            "ray": None if ray is None else {
                "version": ray.__version__, "runtime_start_s": ray_start_s,
                "throughput_vs_local": summary["audiokit"]["median_s"] / summary["audiokit_ray"]["median_s"],
                "contender": "ingest(tracks, out, options, executor='ray', force=True) on ray.init(num_cpus="
                             f"{JOBS}) started once before the rounds: one 1-CPU task per track"},
            "model_stage_costs": costs,
            "cluster_estimate": estimate,
            "audiokit_renditions_track1": renditions,
            "loudness_check": {"audiokit_integrated_lufs": audiokit_lufs,
                               "ffmpeg_ebur128_integrated_lufs": [c["integrated_lufs"] for c in ffmpeg_check]},
            "ffmpeg_outputs_track1": ffmpeg_check[0]["outputs"],
        }
        path = write_json("ingest", document)
        plot(document)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(path)
    for name, row in summary.items():
        print(f"{name:16s} {row['median_s']:7.1f} s  {row['x_realtime']:6.2f}x realtime  "
              f"{row['tracks_per_minute']:5.2f} tracks/min")
    print(f"audiokit throughput / ffmpeg pipeline: {ratio:.2f}x (target >= {TARGET_RATIO}x)")
    if document["ray"]:
        print(f"ray / local throughput: {document['ray']['throughput_vs_local']:.2f}x "
              f"(runtime start {document['ray']['runtime_start_s']:.1f} s, not in the rounds)")
    for key, value in document["cluster_estimate"].items():
        print(f"{key:52s} {value:8.2f}")
    print(f"load average before {load_before}, after {load_after}")


def plot(document: dict) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    summary = document["summary"]
    names = list(summary)
    speeds = [summary[name]["x_realtime"] for name in names]
    figure, axis = plt.subplots(figsize=(7, 2.8))
    axis.barh(names, speeds, color=["tab:blue", "tab:gray", "tab:green"][:len(names)])
    target = TARGET_RATIO * summary["ffmpeg_pipeline"]["x_realtime"]
    axis.axvline(target, color="tab:red", linestyle="--", label=f"target: {TARGET_RATIO}x ffmpeg pipeline")
    for y, (name, speed) in enumerate(zip(names, speeds)):
        axis.text(speed, y, f" {speed:.1f}x ({summary[name]['tracks_per_minute']:.2f} tracks/min)", va="center")
    axis.set_xlim(0, max(max(speeds), target) * 1.45)
    inp = document["input"]
    axis.set_xlabel(f"x-realtime, {inp['num_tracks']} x {inp['duration_s_per_track']:.0f} s stereo 44.1 kHz, "
                    f"core stages, {document['jobs']} at a time")
    cores = document.get("machine_cores", os.cpu_count())
    axis.set_title(f"audiokit ingest / ffmpeg pipeline throughput: {document['audiokit_throughput_ratio']:.2f}x "
                   f"(load avg {document['load_average_before'][0]:.1f} on {cores} cores)", fontsize=9)
    axis.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(RESULTS_DIR / "ingest.png", dpi=120)


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.0f} s")
