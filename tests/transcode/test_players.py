"""Real players: hls.js, dash.js and native <audio> in Debian's headless Chromium play the packaged ladders.

The ladders (spotify-like: AAC, Opus and FLAC rungs; hls-aac) are served over
HTTP on 127.0.0.1 by a server this test starts; ``tests/players/player.html``
plays every case in turn, muted and at 8x, forcing a level switch on every
segment, and posts what the player saw back to the server. Each case must play
to its end with no player error, keep one buffered range (no gap), switch
levels where there are several, and end within one sample period of the
source's length.

Needs Debian's ``chromium`` and the npm packages pinned in
``tests/players/package.json`` (``make player-deps``); without them the test
skips, naming what is missing, or fails when ``AUDIOKIT_REQUIRE_DATA=1``.
The page, the cases, every result, the page's console and Chromium's log are
kept in ``out/test-artifacts/players/`` (printed by the test), with
``results.md``, the table docs/transcode.md quotes.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import pytest
from _ladder_signals import music

import audiokit
from audiokit.io.resample import output_length
from audiokit.transcode import build_ladder

#: About 40 s on two cores (two ladders, one Chromium, 18 cases at 8x); runs in `make test`.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PLAYERS = REPO / "tests" / "players"
ARTIFACTS = REPO / "out" / "test-artifacts" / "players"
#: The players' files the page loads, under /_players/.
PLAYER_FILES = {
    "hls.min.js": PLAYERS / "node_modules" / "hls.js" / "dist" / "hls.min.js",
    "dash.all.min.js": PLAYERS / "node_modules" / "dashjs" / "dist" / "modern" / "umd" / "dash.all.min.js",
}
#: Three segments at 44.1 kHz (4.18 + 4.18 + 0.99 s), non-round.
DURATION_S = 9.345678
#: (ladder, source rate): AAC at 44.1 kHz with Opus at 48 kHz and FLAC at 44.1 kHz; AAC at 48 kHz.
LADDERS = (("spotify-like", 44100), ("hls-aac", 48000))
PLAYBACK_RATE = 8
#: Forced level switches: the next level of the same codec after every segment, in both players
#: ("once": after the first only); hls.js's own ABR keeps to one codec too.
#: dash.js must be told outside its own event dispatch: switching inside its FRAGMENT_LOADING_COMPLETED
#: handler made it end the MediaSource before the last append (a stall 40 ms before the end, at 1x too).
SWITCH = {"hls": "every", "dash": "every"}
CASE_TIMEOUT_MS = 20_000
#: Chromium: headless, no network beyond 127.0.0.1, no first-run work, autoplay allowed.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required", "--mute-audio", "--enable-logging=stderr", "--v=0",
)
_MIME = {".m3u8": "application/vnd.apple.mpegurl", ".mpd": "application/dash+xml", ".m4s": "video/iso.segment",
         ".mp4": "audio/mp4", ".m4a": "audio/mp4", ".opus": "audio/ogg", ".flac": "audio/flac",
         ".js": "text/javascript", ".html": "text/html", ".json": "application/json"}


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("AUDIOKIT_REQUIRE_DATA") == "1":
        pytest.fail(f"{reason} (AUDIOKIT_REQUIRE_DATA=1)")
    pytest.skip(reason)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root.resolve()
        self.results: list[dict] = []
        self.done = threading.Event()
        self.requests: list[str] = []


class _Handler(http.server.BaseHTTPRequestHandler):
    """Static files with Range (RFC 9110 section 14) for native <audio>; POST /_result and /_done."""

    server: _Server

    def log_message(self, format, *args):
        self.server.requests.append(format % args)

    def _file(self) -> Path | None:
        path = self.path.split("?", 1)[0]
        if path.startswith("/_players/"):
            return PLAYER_FILES.get(path[len("/_players/"):])
        candidate = (self.server.root / path.lstrip("/")).resolve()
        return candidate if candidate.is_file() and self.server.root in candidate.parents else None

    def do_GET(self):
        path = self._file()
        if path is None:
            self.send_error(404)
            return
        data = path.read_bytes()
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
        start, end = 0, len(data) - 1
        if match and (match.group(1) or match.group(2)):
            if match.group(1):
                start = int(match.group(1))
                end = min(int(match.group(2)), end) if match.group(2) else end
            else:
                start = max(0, len(data) - int(match.group(2)))
            if start > end:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", _MIME.get(path.suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data[start:end + 1])

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/_result":
            self.server.results.append(json.loads(body))
        elif self.path == "/_done":
            self.server.done.set()
        self.send_response(204)
        self.end_headers()


def _ogg_opus_pre_skip(path: Path) -> int:
    """The OpusHead pre-skip (RFC 7845 section 5.1) of an Ogg Opus file.

    Chromium plays Ogg through FFmpeg's demuxer, whose duration is the last
    granule position / 48000, and an Ogg Opus granule position counts the
    pre-skip (RFC 7845 section 4): native <audio> reports the rendition's
    length plus the pre-skip (312 samples, 6.5 ms, for libopus).
    """
    data = path.read_bytes()
    head = data.find(b"OpusHead")
    assert head >= 0, f"{path}: no OpusHead"
    return int.from_bytes(data[head + 10:head + 12], "little")


def _cases(root: Path, ladders: dict) -> list[dict]:
    """Every manifest (per codec) and every single-file rendition, with what it must measure."""
    cases = []
    for name, (result, audio) in ladders.items():
        variants = result.variants
        by_codec: dict[str, list] = {}
        for variant in variants:
            by_codec.setdefault(variant.codec, []).append(variant)
        several = len(by_codec) > 1
        for codec, group in by_codec.items():
            rate = group[0].sample_rate
            expected = {"expected_frames": output_length(audio.num_frames, audio.sample_rate, rate), "sample_rate": rate,
                        "levels": len(group), "codec": codec, "ladder": name}
            master = f"master-{codec}.m3u8" if several else "master.m3u8"
            for mode, manifest in (("hls", master), ("dash", f"manifest-{codec}.mpd" if several else "manifest.mpd")):
                cases.append({"id": f"{name}/{manifest}", "mode": mode, "src": f"/{name}/{manifest}",
                              "switch": SWITCH[mode], **expected})
            # Chromium's own HLS player ignores the edit list: it presents the priming as audio.
            cases.append({"id": f"{name}/{master} (native)", "mode": "native", "src": f"/{name}/{master}",
                          "switch": False, **expected, "levels": 1,
                          "expected_frames": expected["expected_frames"] + group[0].priming_frames,
                          "note": (f"edit list ignored: +{group[0].priming_frames} samples of priming"
                                   if group[0].priming_frames else "no priming, no edit list")})
        if several:  # every codec in one master / MPD: the player keeps to one codec and plays it exactly
            by_level = {v.name: {"codec": v.codec, "sample_rate": v.sample_rate, "levels": len(by_codec[v.codec]),
                                 "expected_frames": output_length(audio.num_frames, audio.sample_rate, v.sample_rate)}
                        for v in variants}
            for mode, manifest in (("hls", "master.m3u8"), ("dash", "manifest.mpd")):
                cases.append({"id": f"{name}/{manifest}", "mode": mode, "src": f"/{name}/{manifest}",
                              "switch": SWITCH[mode], "ladder": name, "by_level": by_level,
                              **by_level[variants[0].name]})
        for rendition in result.renditions:
            frames = rendition.num_frames
            note = ""
            if rendition.codec == "opus":
                pre_skip = _ogg_opus_pre_skip(root / name / rendition.path)
                frames += pre_skip
                note = f"Ogg duration counts the pre-skip: +{pre_skip} samples"
            cases.append({"id": f"{name}/{rendition.path}", "mode": "native", "src": f"/{name}/{rendition.path}",
                          "switch": False, "codec": rendition.codec, "ladder": name, "levels": 1,
                          "expected_frames": frames, "sample_rate": rendition.sample_rate, "note": note})
    for case in cases:
        case.update(rate=PLAYBACK_RATE, timeout_ms=CASE_TIMEOUT_MS)
    return cases


def _play(root: Path, cases: list[dict]) -> tuple[list[dict], str]:
    """Serve ``root``, run every case in one headless Chromium, return the results and Chromium's log."""
    (root / "cases.json").write_text(json.dumps(cases))
    shutil.copy(PLAYERS / "player.html", root / "player.html")
    server = _Server(root)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    profile = root / "chromium-profile"
    url = f"http://127.0.0.1:{server.server_address[1]}/player.html?cases=/cases.json"
    log_path = root / "chromium.log"
    with open(log_path, "wb") as log:
        browser = subprocess.Popen([shutil.which("chromium") or "chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                                    url], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            server.done.wait(timeout=len(cases) * CASE_TIMEOUT_MS / 1000 + 30)
        finally:
            os.killpg(browser.pid, signal.SIGTERM)  # the group this test started: browser, renderer, GPU, ...
            try:
                browser.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(browser.pid, signal.SIGKILL)
                browser.wait()
            server.shutdown()
            server.server_close()
    (root / "requests.log").write_text("\n".join(server.requests) + "\n")
    return server.results, log_path.read_text(errors="replace")


def _resolved(case: dict, result: dict | None) -> dict:
    """``case`` with the codec, rate and length of the AdaptationSet the player chose, for a multi-codec MPD."""
    if "by_level" not in case or not result or not result["fragments"]:
        return case
    chosen = {case["by_level"][f["name"]]["codec"] for f in result["fragments"]}
    first = case["by_level"][result["fragments"][0]["name"]]
    return {**case, **first, "codec": "+".join(sorted(chosen))}


def _verdict(case: dict, result: dict | None) -> list[str]:
    """Every way ``result`` fails ``case``; empty when it passed."""
    if result is None:
        return ["no result (page did not finish)"]
    case = _resolved(case, result)
    problems = []
    if "+" in case["codec"]:
        problems.append(f"played several AdaptationSets: {case['codec']}")
    if result["reason"] != "ended" or not result["ended"]:
        problems.append(f"did not play to the end: {result['reason']}")
    if result["errors"] or result["mediaError"]:
        problems.append(f"player errors: {result['errors']} {result['mediaError'] or ''}")
    expected_s = case["expected_frames"] / case["sample_rate"]
    if result["duration"] is None or abs(result["duration"] - expected_s) > 1 / case["sample_rate"]:
        problems.append(f"duration {result['duration']} s; expected {expected_s:.6f} s within one sample")
    if result["gaps"] or len(result["buffered"]) != 1:
        problems.append(f"buffered gap: {result['gaps'] or result['buffered']}")
    elif case["mode"] != "native" and result["buffered"][0][0] > 1 / case["sample_rate"]:
        problems.append(f"buffer starts at {result['buffered'][0][0]} s, not 0")
    if case["switch"] and case["levels"] > 1 and len({f["level"] for f in result["fragments"]}) < 2:
        problems.append(f"no level switch: fragments {result['fragments']}")
    return problems


def _table(cases: list[dict], results: dict) -> str:
    lines = ["| case | player | codec | levels played | duration s | expected s | off by (samples) | result | note |",
             "|---|---|---|---|---|---|---|---|---|"]
    player = {"hls": "hls.js", "dash": "dash.js", "native": "Chromium native"}
    for case in cases:
        result = results.get(case["id"])
        problems = _verdict(case, result)
        case = _resolved(case, result)
        expected_s = case["expected_frames"] / case["sample_rate"]
        duration = result["duration"] if result and result["duration"] is not None else float("nan")
        levels = len({f["level"] for f in result["fragments"]}) if result and result["fragments"] else "-"
        off = (duration - expected_s) * case["sample_rate"]
        lines.append(f"| {case['id']} | {player[case['mode']]} | {case['codec']} | {levels} | {duration:.6f} | "
                     f"{expected_s:.6f} | {off:+.2f} | {'pass' if not problems else '; '.join(problems)} | "
                     f"{case.get('note', '')} |")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    _require(shutil.which("chromium") is not None,
             "Debian package chromium is not installed (apt-get install chromium; make system-deps)")
    missing = [name for name, path in PLAYER_FILES.items() if not path.is_file()]
    _require(not missing, f"{', '.join(missing)} missing: run `make player-deps` (npm ci in tests/players)")
    root = tmp_path_factory.mktemp("players")
    ladders = {}
    for preset, rate in LADDERS:
        audio = audiokit.Audio(music(rate, duration_s=DURATION_S), rate)
        ladders[preset] = (build_ladder(audio, root / preset, ladder=preset, hls=True, dash=True, qa=False), audio)
    cases = _cases(root, ladders)
    results, chromium_log = _play(root, cases)
    by_id = {result["id"]: result for result in results}
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    for name in ("player.html", "cases.json", "chromium.log", "requests.log"):
        shutil.copy(root / name, ARTIFACTS / name)
    (ARTIFACTS / "results.json").write_text(json.dumps(results, indent=1))
    (ARTIFACTS / "console.log").write_text("".join(f"== {r['id']}\n" + "\n".join(r.get("console", [])) + "\n"
                                                   for r in results))
    (ARTIFACTS / "results.md").write_text(_table(cases, by_id))
    print(f"player test artifacts: {ARTIFACTS}")
    return cases, by_id, chromium_log


def test_every_case_ran(served):
    cases, results, chromium_log = served
    missing = [case["id"] for case in cases if case["id"] not in results]
    assert not missing, f"no result for {missing}; Chromium said: {chromium_log[-2000:]}"


@pytest.mark.parametrize("mode", ["hls", "dash", "native"])
def test_players_play_to_the_end_exactly(served, mode):
    cases, results, _ = served
    failures = {case["id"]: problems for case in cases if case["mode"] == mode
                for problems in [_verdict(case, results.get(case["id"]))] if problems}
    assert not failures, f"see {ARTIFACTS}: {json.dumps(failures, indent=1)}"
