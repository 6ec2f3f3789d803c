"""Benchmark the spotify-like ladder: ``audiokit ladder`` against the ffmpeg CLI, whole processes.

Input: a 3-minute 44.1 kHz stereo 16-bit FLAC of real-ish music: the bundled
``examples/example.flac`` (synthesized pop) looped with a slow level drift, as
benchmarks/bench_ingest.py builds its tracks. Contenders, each a fresh process
(interpreter start, imports and Numba cache loads included), interleaved,
warm-up discarded:

- ``audiokit``: ``audiokit ladder --qa off`` (one streaming decode, one resampler
  per rate, the 7 rungs encoded in threads while the source is decoded) -- the
  same work as the anchors, plus the loudness meters of the gain tags;
- ``audiokit_qa``: ``--qa fast``, the default (each rendition decoded back in its
  encoder thread, measured, tagged with its own gain, checked);
- ``audiokit_qa_full``: ``--qa full`` (also whole-track alignment and AAC level matching by re-encoding);
- ``ffmpeg_one_process``: one Debian ``ffmpeg`` process writing the 7 renditions
  with the same encoders and settings (libopus constrained VBR at 48 kHz, aac, flac);
- ``ffmpeg_per_rendition``: one ``ffmpeg`` process per rendition, one after another.

Besides wall time, each contender's CPU time (user + system of the process and
its children) is recorded; QA's CPU share is the CPU ``--qa fast`` adds over
``--qa off``, as a fraction of ``--qa off``'s (the encoders' and the decode's).
The load average before and after the runs is recorded: the machine is shared.

Per-codec encode speed (one thread, one rendition, the same 5 minutes):
PyAV's bundled encoders through audiokit's writer against Debian's ffmpeg.

Run ``python benchmarks/bench_ladder.py [SECONDS [REPEATS]]`` (default 180 s, 3
repeats); writes benchmarks/results/ladder.json (and ladder.png when matplotlib
is installed). Needs Debian's ``ffmpeg`` (``apt-get install -y ffmpeg``).

``python benchmarks/bench_ladder.py profile [SECONDS]`` (default 180) writes
benchmarks/results/ladder_profile.json: the CPU seconds of one ``--qa fast``
and one ``--qa off`` ladder of the same input, each in a fresh process, split
by part (each part's own thread CPU time, ``time.thread_time``, with what
nested parts took subtracted; see :func:`_profiled_build`), beside one
ffmpeg process's CPU for the same renditions measured in the same run.

``python benchmarks/bench_ladder.py muxer-memory [SECONDS]`` (default 3600)
measures what an AAC rung's muxer holds: SECONDS of 48 kHz stereo (the example,
looped) encoded at 128 kbit/s, each container in a fresh process, resident
memory (``VmRSS``) read as it goes: ``m4a`` through the ladder's rung writer
(:func:`audiokit.transcode.encode.encode_blocks`), then the same encoder fed
the same way by PyAV into fragmented MP4 (``movflags``
``frag_keyframe+empty_moov+default_base_moof``, a fragment every 2 s) and into
ADTS. It adds the field ``aac_muxer_rss`` to
benchmarks/results/memory_profile.json.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _harness import RESULTS_DIR, machine_info, summarize, time_interleaved, versions, write_json

import audiokit
from audiokit.transcode import LADDERS, build_ladder

#: Modes other than the default benchmark take their own arguments.
_MODES = ("profile", "_profile_child", "muxer-memory", "_muxer_child")
_NUMBERS = [arg for arg in sys.argv[1:] if arg[:1].isdigit()] if sys.argv[1:2] and sys.argv[1] not in _MODES else []
DURATION_S = float(_NUMBERS[0]) if _NUMBERS else 180.0
SAMPLE_RATE = 44100
REPEATS = int(_NUMBERS[1]) if len(_NUMBERS) > 1 else 3
PRESET = "spotify-like"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "example.flac"
#: The audiokit command line, as installed.
AUDIOKIT = [sys.executable, "-c", "from audiokit.cli.main import main; main()"]


def _music(frames: int) -> np.ndarray:
    """The bundled example looped to ``frames``, with a slow +-3 dB level drift, stereo float32."""
    loop = audiokit.read(EXAMPLE, sample_rate=SAMPLE_RATE).samples.astype(np.float64)
    samples = np.tile(loop, -(-frames // loop.shape[1]))[:, :frames]
    t = np.arange(frames) / SAMPLE_RATE
    samples *= 10 ** ((3.0 * np.sin(2 * np.pi * t / 37.0) - 4.0) / 20)
    return (samples * min(1.0, 0.98 / np.abs(samples).max())).astype(np.float32)


def _cpu_s() -> float:
    """User + system seconds of this process's finished children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _ffmpeg_outputs(out: Path) -> list[list[str]]:
    """ffmpeg output arguments for each rung of the preset (same encoders and bitrates)."""
    outputs = []
    for rung in LADDERS[PRESET]:
        if rung.codec == "opus":
            args = ["-c:a", "libopus", "-b:a", str(rung.bitrate_bps), "-vbr", "constrained", "-ar", "48000",
                    str(out / f"{rung.name}.opus")]
        elif rung.codec == "aac":
            args = ["-c:a", "aac", "-b:a", str(rung.bitrate_bps), str(out / f"{rung.name}.m4a")]
        else:
            args = ["-c:a", "flac", "-sample_fmt", "s32", str(out / f"{rung.name}.flac")]
        outputs.append(["-map", "0:a", *args])
    return outputs


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def main() -> None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        sys.exit("bench_ladder: Debian's ffmpeg is needed for the anchors: apt-get install -y ffmpeg")
    ffmpeg_version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    work = Path(tempfile.mkdtemp(prefix="bench_ladder."))
    source = work / "master.flac"
    audiokit.write(source, audiokit.Audio(_music(round(DURATION_S * SAMPLE_RATE)), SAMPLE_RATE), bit_depth=16)
    base = [ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-threads", "1", "-i", str(source)]
    load_before = os.getloadavg()
    cpu: dict[str, list[float]] = {}

    def with_cpu(name, run):
        def measured():
            before = _cpu_s()
            run()
            cpu.setdefault(name, []).append(_cpu_s() - before)
        return measured

    def audiokit_ladder(qa: str):
        def run():
            subprocess.run([*AUDIOKIT, "ladder", str(source), "-o", str(work / f"ak_{qa}"), "--ladder", PRESET,
                            "--qa", qa, "--force"], check=True, stdout=subprocess.DEVNULL)
        return run

    def ffmpeg_one_process():
        out = _fresh(work / "ffmpeg_one")
        subprocess.run([*base, *[arg for output in _ffmpeg_outputs(out) for arg in output]], check=True)

    def ffmpeg_per_rendition():
        out = _fresh(work / "ffmpeg_each")
        for output in _ffmpeg_outputs(out):
            subprocess.run([*base, *output], check=True)

    contenders = {
        "audiokit": audiokit_ladder("off"),
        "audiokit_qa": audiokit_ladder("fast"),
        "audiokit_qa_full": audiokit_ladder("full"),
        "ffmpeg_one_process": ffmpeg_one_process,
        "ffmpeg_per_rendition": ffmpeg_per_rendition,
    }
    times = time_interleaved({name: with_cpu(name, run) for name, run in contenders.items()},
                             repeats=REPEATS, warmup=1)
    summary = summarize(times, audio_seconds=DURATION_S, subject="audiokit")
    cpu_s = {name: float(np.median(values[1:] if len(values) > 1 else values)) for name, values in cpu.items()}
    qa_cpu_share = (cpu_s["audiokit_qa"] - cpu_s["audiokit"]) / cpu_s["audiokit"]
    load_after = os.getloadavg()
    result = build_ladder(source, work / "ak_qa", ladder=PRESET, force=True)

    # Per-codec encode speed, one thread, one rendition each.
    audio = audiokit.read(source)
    at_48k = audiokit.io.resample.resample(audio.samples, SAMPLE_RATE, 48000)
    per_codec = {}
    for name, path, samples, rate, options, ffmpeg_args in (
        ("opus_160k", "x.opus", at_48k, 48000, {"bitrate_bps": 160_000}, ["-c:a", "libopus", "-b:a", "160000", "-ar", "48000"]),
        ("aac_256k", "x.m4a", audio.samples, SAMPLE_RATE, {"bitrate_bps": 256_000}, ["-c:a", "aac", "-b:a", "256000"]),
        ("mp3_320k", "x.mp3", audio.samples, SAMPLE_RATE, {"bitrate_bps": 320_000}, ["-c:a", "libmp3lame", "-b:a", "320000"]),
        ("flac_24bit", "x.flac", audio.samples, SAMPLE_RATE, {"bit_depth": 24}, ["-c:a", "flac", "-sample_fmt", "s32"]),
    ):
        target = work / path

        def pyav(samples=samples, rate=rate, options=options, target=target):
            audiokit.write(target, audiokit.Audio(samples, rate), **options)

        def cli(ffmpeg_args=ffmpeg_args, target=target):
            subprocess.run([*base, *ffmpeg_args, str(target)], check=True)

        codec_times = time_interleaved({"audiokit_pyav": pyav, "ffmpeg_cli": cli}, repeats=REPEATS, warmup=1)
        per_codec[name] = summarize(codec_times, audio_seconds=DURATION_S, subject="audiokit_pyav")

    document = {
        "input": {"duration_s": DURATION_S, "sample_rate": SAMPLE_RATE, "channels": 2, "format": "FLAC 16-bit",
                  "content": "examples/example.flac looped, +-3 dB drift",
                  "preset": PRESET, "rungs": [rung.to_dict() for rung in LADDERS[PRESET]]},
        "versions": {**versions("av"), "ffmpeg_cli": ffmpeg_version},
        "repeats": REPEATS,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "ladder": summary,
        "cpu_s": cpu_s,
        "qa_cpu_share_of_encoding": qa_cpu_share,
        "per_codec": per_codec,
        "renditions": [{key: r.to_dict()[key] for key in ("name", "measured_bitrate_bps", "integrated_lufs",
                                                           "bandwidth_hz", "mel_distance")} for r in result.renditions],
    }
    path = write_json("ladder", document)
    _plot(document)
    shutil.rmtree(work)
    print(path)
    for name, row in summary.items():
        print(f"{name:22s} {row['median_s']:7.2f} s  {row['x_realtime']:6.1f}x realtime  "
              f"audiokit speed-up {row.get('audiokit_speedup', 1.0):.2f}")
    for name, seconds in cpu_s.items():
        print(f"{name:22s} {seconds:7.2f} s CPU")
    print(f"QA fast CPU over QA off: {qa_cpu_share:.1%}; load average {load_before} -> {load_after}")
    for codec, rows in per_codec.items():
        print(f"{codec:12s} pyav {rows['audiokit_pyav']['median_s']:.2f} s  cli {rows['ffmpeg_cli']['median_s']:.2f} s")


def _plot(document: dict) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    names = list(document["ladder"])
    seconds = [document["ladder"][name]["median_s"] for name in names]
    figure, axis = plt.subplots(figsize=(7, 3))
    axis.barh(names, seconds)
    axis.set_xlabel(f"median seconds, {DURATION_S:g} s stereo 44.1 kHz, spotify-like ladder")
    figure.tight_layout()
    figure.savefig(RESULTS_DIR / "ladder.png", dpi=120)


#: profile: the parts a ladder's CPU is split into, by where it is spent (wrapped callables; see _profiled_build).
PROFILE_PARTS = {
    "decode source": "the source's streaming decode (main thread)",
    "probe source": "probing the source (main thread)",
    "master chain": "downmix and resampler per master, re-blocking (main thread)",
    "source loudness meter": "BS.1770 meter of the source (main thread)",
    "master loudness meters": "BS.1770 meter of each master, in its ReferenceAnalysis (gain tags; QA's reference)",
    "QA reference analysis": "the rest of ReferenceAnalysis: STFT, mel, windows, digests (main thread)",
    "queue hand-off": "BlockWorker put/get",
    "encode+mux": "AudioWriter: frame conversion, encoder, muxer (encoder threads)",
    "writer checks": "AudioWriter.write's validation and splitting",
    "QA decode": "decoding the rendition back (probe_decoding; without QA, the probe that counts its frames)",
    "QA analysis": "RenditionAnalysis: STFT, mel, windows, digest",
    "rendition loudness meter": "BS.1770 meter of each decoded rendition (its own gain tags)",
    "retag, hash": "finish_rendition (remux with gain tags, MP4 atoms) and SHA-256",
    "start-up and imports": "the process's CPU before build_ladder (interpreter, imports)",
    "other (not in a part)": "the rest of build_ladder: threads, staging, manifest, the first Numba kernel loads",
}


def _profiled_build(source: Path, out: Path, qa: str) -> dict:
    """Build the ladder with each part's thread CPU time summed (exclusive of the parts nested in it)."""
    import functools
    import re
    import threading

    import audiokit.io.writer as writer
    import audiokit.loudness as loudness
    import audiokit.transcode.engine as engine
    import audiokit.transcode.ladder as ladder
    import audiokit.transcode.qa as qa_module

    probe_module = sys.modules["audiokit.io.probe"]
    totals: dict[str, float] = {}
    lock, local = threading.Lock(), threading.local()

    def codec() -> str:
        name = threading.current_thread().name
        return "" if name == "MainThread" else " " + re.sub(r"^encode-([a-z0-9]+).*", r"\1", name)

    def charge(part: str, seconds: float, stack: list[float]) -> None:
        child = stack.pop()
        with lock:
            totals[part] = totals.get(part, 0.0) + seconds - child
        if stack:
            stack[-1] += seconds

    def timed(part, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            stack = local.__dict__.setdefault("stack", [])
            stack.append(0.0)
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                charge(part() if callable(part) else part, time.thread_time() - start, stack)
        return wrapper

    def timed_iter(part, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            items = fn(*args, **kwargs)

            def stepped():
                while True:
                    stack = local.__dict__.setdefault("stack", [])
                    stack.append(0.0)
                    start = time.thread_time()
                    try:
                        item = next(items)
                    except StopIteration:
                        return
                    finally:
                        charge(part(), time.thread_time() - start, stack)
                    yield item
            return stepped()
        return wrapper

    main = threading.current_thread()
    per_codec = lambda name: lambda: name + codec()  # noqa: E731 - a part named per encoder thread
    ladder.AudioReader.blocks = timed_iter(lambda: "decode source", ladder.AudioReader.blocks)
    probe_module.probe_decoding = timed(
        lambda: "probe source" if threading.current_thread() is main else "QA decode" + codec(),
        probe_module.probe_decoding)
    loudness.LoudnessMeter.process = timed(
        lambda: "source loudness meter" if threading.current_thread() is main and not local.__dict__.get("ref")
        else ("master loudness meters" if threading.current_thread() is main else "rendition loudness meter" + codec()),
        loudness.LoudnessMeter.process)
    for name in ("process", "flush"):
        setattr(engine.MasterChain, name, timed("master chain", getattr(engine.MasterChain, name)))
    engine.BlockWorker.process = timed("queue hand-off", engine.BlockWorker.process)
    engine.BlockWorker._blocks = timed_iter(lambda: "queue hand-off", engine.BlockWorker._blocks)

    def reference(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            local.ref = True
            try:
                return fn(*args, **kwargs)
            finally:
                local.ref = False
        return wrapper
    for name in ("add", "finish"):
        setattr(qa_module.ReferenceAnalysis, name,
                reference(timed("QA reference analysis", getattr(qa_module.ReferenceAnalysis, name))))
        setattr(qa_module.RenditionAnalysis, name, timed(per_codec("QA analysis"), getattr(qa_module.RenditionAnalysis, name)))
    for name in ("_encode", "close"):
        setattr(writer.AudioWriter, name, timed(per_codec("encode+mux"), getattr(writer.AudioWriter, name)))
    writer.AudioWriter.write = timed(per_codec("writer checks"), writer.AudioWriter.write)
    ladder.finish_rendition = timed(per_codec("retag, hash"), ladder.finish_rendition)
    ladder.file_sha256 = timed(per_codec("retag, hash"), ladder.file_sha256)

    before = time.process_time()
    build_ladder(source, out, ladder=PRESET, qa=qa, force=True)
    build_cpu_s = time.process_time() - before
    totals["start-up and imports"] = before
    totals["other (not in a part)"] = build_cpu_s - sum(totals.values()) + before
    return {"qa": qa, "process_cpu_s": round(time.process_time(), 2), "build_cpu_s": round(build_cpu_s, 2),
            "parts_cpu_s": {part: round(seconds, 3) for part, seconds in sorted(totals.items(), key=lambda kv: -kv[1])}}


def profile(seconds: float) -> None:
    """``--qa fast`` and ``--qa off`` profiled, each in a fresh process, and ffmpeg's CPU for the same renditions."""
    import json

    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        sys.exit("bench_ladder: Debian's ffmpeg is needed for the anchor: apt-get install -y ffmpeg")
    work = Path(tempfile.mkdtemp(prefix="bench_ladder_profile."))
    try:
        source = work / "master.flac"
        audiokit.write(source, audiokit.Audio(_music(round(seconds * SAMPLE_RATE)), SAMPLE_RATE), bit_depth=16)
        load_before = os.getloadavg()
        runs = {}
        for qa in ("fast", "off"):
            child = subprocess.run([sys.executable, __file__, "_profile_child", str(source), str(work / qa), qa],
                                   check=True, capture_output=True, text=True)
            runs[qa] = json.loads(child.stdout.strip().splitlines()[-1])
        before = _cpu_s()
        out = _fresh(work / "ffmpeg")
        subprocess.run([ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-threads", "1", "-i", str(source),
                        *[arg for output in _ffmpeg_outputs(out) for arg in output]], check=True)
        ffmpeg_cpu_s = _cpu_s() - before
    finally:
        shutil.rmtree(work, ignore_errors=True)
    document = {
        "input": {"duration_s": seconds, "sample_rate": SAMPLE_RATE, "channels": 2, "format": "FLAC 16-bit",
                  "content": "examples/example.flac looped, +-3 dB drift", "preset": PRESET},
        "versions": versions("av"),
        "method": ("build_ladder in a fresh process per QA mode, the parts' callables wrapped to sum their "
                   "thread CPU time (time.thread_time) less the wrapped parts they call; 'start-up and imports' "
                   "is the process's CPU before build_ladder; ffmpeg one process writing the same renditions "
                   "(-threads 1), its user + system CPU, in the same run"),
        "parts": PROFILE_PARTS,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "ffmpeg_one_process_cpu_s": round(ffmpeg_cpu_s, 2),
        "runs": runs,
    }
    path = write_json("ladder_profile", document)
    print(path)
    for qa, run in runs.items():
        print(f"--qa {qa}: process {run['process_cpu_s']} CPU s (ffmpeg {ffmpeg_cpu_s:.2f})")
        for part, value in run["parts_cpu_s"].items():
            print(f"  {value:7.2f}  {part}")


#: muxer-memory: the containers compared, the AAC rung's bitrate, RSS readings per run.
MUXER_CONTAINERS = ("m4a", "fragmented_mp4", "adts")
MUXER_BITRATE_BPS = 128_000
MUXER_RATE = 48000
MUXER_READINGS = 60


def _rss_mb() -> float:
    """This process's resident set now (``VmRSS``), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _muxer_child(container: str, seconds: float, out: Path) -> dict:
    """Encode ``seconds`` of the looped example as AAC into ``container``; RSS as it goes."""
    from fractions import Fraction

    import av

    from audiokit._arrays import BLOCK_FRAMES
    from audiokit.transcode.encode import encode_blocks
    from audiokit.transcode.rungs import Rung, resolve_rung

    loop = audiokit.read(EXAMPLE, sample_rate=MUXER_RATE).samples
    total = round(seconds * MUXER_RATE)
    every = max(1, total // BLOCK_FRAMES // MUXER_READINGS)
    readings: list[tuple[float, float]] = []

    def blocks():
        for index, start in enumerate(range(0, total, BLOCK_FRAMES)):
            offset = start % loop.shape[1]
            block = np.take(loop, range(offset, offset + min(BLOCK_FRAMES, total - start)), axis=1, mode="wrap")
            if index % every == 0:
                readings.append((round(start / MUXER_RATE, 1), round(_rss_mb(), 1)))
            yield block
        readings.append((round(total / MUXER_RATE, 1), round(_rss_mb(), 1)))  # every packet muxed but the last

    start_cpu = time.process_time()
    if container == "m4a":
        rung = resolve_rung(Rung("aac-128", "aac", bitrate_bps=MUXER_BITRATE_BPS), source_rate=MUXER_RATE,
                            source_channels=2, source_bit_depth=None)
        encode_blocks(blocks(), rung, out / "rung.m4a", tags={})
    else:
        options = {"fflags": "+bitexact", "movie_timescale": str(MUXER_RATE)}
        if container == "fragmented_mp4":
            options["movflags"] = "frag_keyframe+empty_moov+default_base_moof"
            options["frag_duration"] = str(2_000_000)
        name, muxer = ("rung.mp4", "mp4") if container == "fragmented_mp4" else ("rung.aac", "adts")
        with av.open(str(out / name), "w", format=muxer,
                     options=options if muxer == "mp4" else {"fflags": "+bitexact"}) as output:
            stream = output.add_stream("aac", rate=MUXER_RATE)
            stream.layout, stream.bit_rate, stream.format = "stereo", MUXER_BITRATE_BPS, "fltp"
            written = 0
            for block in blocks():
                for part in range(0, block.shape[1], 8192):  # the rung writer's frame size
                    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block[:, part:part + 8192]),
                                                       format="fltp", layout="stereo")
                    frame.sample_rate, frame.pts, frame.time_base = MUXER_RATE, written, Fraction(1, MUXER_RATE)
                    written += frame.samples
                    for packet in stream.encode(frame):
                        output.mux(packet)
            for packet in stream.encode(None):
                output.mux(packet)
    after_close = round(_rss_mb(), 1)
    size = sum(path.stat().st_size for path in out.iterdir())
    return {"seconds": seconds, "cpu_s": round(time.process_time() - start_cpu, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "rss_at_start_mb": readings[0][1], "rss_at_end_mb": readings[-1][1],
            "growth_mb": round(readings[-1][1] - readings[0][1], 1), "rss_after_close_mb": after_close,
            "file_bytes": size,
            "aac_packets": round(total / 1024), "rss_timeline_s_mb": readings}


def muxer_memory(seconds: float) -> None:
    """Each container in a fresh process; the results into memory_profile.json's ``aac_muxer_rss``."""
    import json

    runs = {}
    for container in MUXER_CONTAINERS:
        out = Path(tempfile.mkdtemp(prefix="bench_muxer."))
        try:
            child = subprocess.run([sys.executable, __file__, "_muxer_child", container, str(seconds), str(out)],
                                   check=True, capture_output=True, text=True)
        finally:
            shutil.rmtree(out, ignore_errors=True)
        runs[container] = json.loads(child.stdout.strip().splitlines()[-1])
        row = runs[container]
        print(f"{container:15s} RSS {row['rss_at_start_mb']:6.1f} -> {row['rss_at_end_mb']:6.1f} MB "
              f"(+{row['growth_mb']} MB, peak {row['peak_rss_mb']} MB) over {seconds:g} s, {row['cpu_s']} CPU s")
    path = RESULTS_DIR / "memory_profile.json"
    document = json.loads(path.read_text())
    document["aac_muxer_rss"] = _muxer_summary(runs, seconds)
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(path)


def _muxer_summary(runs: dict, seconds: float) -> dict:
    """The muxer-memory runs with their growth per hour, from the second reading on (the first block
    allocates the encoder's and the writer's buffers in every container alike)."""
    growth_per_hour = {}
    for name, row in runs.items():
        (start_s, start_mb), (end_s, end_mb) = row["rss_timeline_s_mb"][1], row["rss_timeline_s_mb"][-1]
        growth_per_hour[name] = round((end_mb - start_mb) * 3600 / (end_s - start_s), 1)
    return {
        "what": (f"{seconds:g} s of 48 kHz stereo (examples/example.flac looped) encoded by PyAV's aac at "
                 f"{MUXER_BITRATE_BPS} bit/s, each container in a fresh process; RSS (VmRSS) read "
                 f"{MUXER_READINGS} times as it goes. m4a: the ladder's rung writer (encode_blocks); "
                 "fragmented_mp4 and adts: the same encoder, frames and timestamps through PyAV"),
        "command": f"python benchmarks/bench_ladder.py muxer-memory {seconds:g}",
        "machine": machine_info(),
        "versions": versions("av"),
        "runs": runs,
        "growth_mb_per_hour_after_first_block": growth_per_hour,
        "growth_mb_three_hours_two_aac_rungs": {name: round(6 * value, 1) for name, value in growth_per_hour.items()},
    }


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_muxer_child":
        import json

        print(json.dumps(_muxer_child(sys.argv[2], float(sys.argv[3]), Path(sys.argv[4]))))
        sys.exit()
    if len(sys.argv) > 1 and sys.argv[1] == "_profile_child":
        import json

        print(json.dumps(_profiled_build(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])))
        sys.exit()
    if len(sys.argv) > 1 and sys.argv[1] == "profile":
        profile(float(sys.argv[2]) if len(sys.argv) > 2 else 180.0)
        sys.exit()
    if len(sys.argv) > 1 and sys.argv[1] == "muxer-memory":
        muxer_memory(float(sys.argv[2]) if len(sys.argv) > 2 else 3600.0)
        sys.exit()
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.0f} s")
