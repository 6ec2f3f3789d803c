"""The HTML report of an ingested podcast episode, opened in Debian's headless Chromium.

A short espeak-ng episode (tests/_episodes.py) with a planted profanity is
ingested with the speech, transcript and moderation stages and
:data:`audiokit.pipeline.extra_stages.CATALOG_STAGES`; its ``report.html`` is
then opened from disk (``file://``, no server: the page must stand alone) and
must load without a console error, a failed load or a Content-Security-Policy
violation, show every section, and play from the flag's time when the flag is
clicked. The screenshot is kept in ``out/test-artifacts/report/`` (with the
page's log); docs/report.md says how it becomes docs/images/report.png.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from audiokit.pipeline import read_manifest
from audiokit.pipeline.stages import resolve_stages
from audiokit.pipeline.track import ingest_track

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "out" / "test-artifacts" / "report"
PLANTED = "shit"


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("AUDIOKIT_REQUIRE_DATA") == "1":
        pytest.fail(f"{reason} (AUDIOKIT_REQUIRE_DATA=1)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from _browser import chromium
    from _episodes import Line, available, build_episode

    pytest.importorskip("faster_whisper", reason="the transcript stage needs the ml extra")
    _require(available(), "needs libespeak-ng (Debian package espeak-ng)")
    _require(chromium() is not None, "Debian package chromium is not installed (apt-get install chromium)")
    episode = build_episode([
        Line("Welcome back to the show about sound and the people who make it.", voice="en-us", pause_before_s=0.5),
        Line(f"This {PLANTED} is getting old, said the engineer.", voice="en-gb", pause_before_s=1.5),
        Line("Thank you for having me, it is a pleasure to be here.", voice="en-us", pause_before_s=1.5),
    ])
    folder = tmp_path_factory.mktemp("episode")
    source = episode.write(folder / "episode <one> & \"two\".wav")  # a file name the page must escape
    out = tmp_path_factory.mktemp("out")
    stages = resolve_stages("all")  # what `audiokit ingest --stages all` runs
    settings = {"preset": "podcast", "hls": False, "dash": False, "qa": "fast",
                "stages": [stage.name for stage in stages]}
    result = ingest_track(source, out, settings, stages)
    assert result.status == "ingested", result.error
    manifest = read_manifest(result.manifest_path)
    assert manifest["stages"]["report"]["status"] == "ok", manifest["stages"]
    assert any(PLANTED in flag["text"].lower() for flag in manifest["flags"]), manifest["flags"]
    return Path(result.manifest_path).parent / "report.html", manifest, out


@pytest.fixture(scope="module")
def page(report, tmp_path_factory):
    from _browser import Browser

    path, manifest, out = report
    with Browser(tmp_path_factory.mktemp("chromium"), width=1200, height=900) as browser:
        browser.open(path.as_uri())
        # the player knows its length once the rendition's metadata loaded (5 s at most)
        player = browser.evaluate("""(async () => {
            const a = document.getElementById("player");
            if (a.readyState < 1) {
              await Promise.race([new Promise(r => a.addEventListener("loadedmetadata", r, {once: true})),
                                  new Promise(r => setTimeout(r, 5000))]);
            }
            return {readyState: a.readyState, duration: a.duration, currentTime: a.currentTime,
                    src: a.currentSrc, error: a.error && a.error.code};
        })()""")
        elements = browser.evaluate("""(() => {
            const count = s => document.querySelectorAll(s).length;
            const image = document.getElementById("spectrogram");
            return {
              shortTermPoints: [...document.querySelectorAll("#loudness-chart polyline.short-term")]
                .map(p => p.points.length).reduce((a, b) => a + b, 0),
              momentaryPoints: [...document.querySelectorAll("#loudness-chart polyline.momentary")]
                .map(p => p.points.length).reduce((a, b) => a + b, 0),
              waveformLength: document.querySelector("#waveform path.wave").getTotalLength(),
              spectrogram: [image.naturalWidth, image.naturalHeight, image.complete],
              renditionRows: count("#ladder tr.rendition"),
              segments: count("#transcript p.segment"),
              flaggedSegments: count("#transcript p.segment.flagged"),
              marks: [...document.querySelectorAll("#transcript mark.flag")].map(m => m.textContent),
              flagButtons: count("#flags button.flag"),
              title: document.querySelector("h1").textContent,
              scripts: count("script"),
            };
        })()""")
        target = float(browser.evaluate('document.querySelector("#transcript mark.flag").dataset.seek'))
        browser.click("#transcript mark.flag")
        seeked = browser.evaluate("""(async () => {
            const a = document.getElementById("player");
            if (a.seeking) { await new Promise(r => a.addEventListener("seeked", r, {once: true})); }
            return {currentTime: a.currentTime, paused: a.paused};
        })()""")
        browser.click("#waveform")  # its middle
        on_chart = browser.evaluate("""(async () => {
            const a = document.getElementById("player");
            if (a.seeking) { await new Promise(r => a.addEventListener("seeked", r, {once: true})); }
            return a.currentTime;
        })()""")
        browser.evaluate("window.scrollTo(0, 0)")
        screenshot = browser.screenshot()
        errors = browser.errors()
        browser.open((out / "report" / "index.html").as_uri())
        index = browser.evaluate('[...document.querySelectorAll("#tracks a")].map(a => a.href)')
        index_errors = browser.errors()[len(errors):]
        messages = list(browser.messages)
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    (ARTIFACTS / "report.png").write_bytes(screenshot)
    shutil.copy(path, ARTIFACTS / "report.html")
    (ARTIFACTS / "console.json").write_text(json.dumps(messages, indent=1))
    print(f"report test artifacts: {ARTIFACTS}")
    return {"player": player, "elements": elements, "target": target, "seeked": seeked, "on_chart": on_chart,
            "screenshot": screenshot,
            "errors": errors, "index": index, "index_errors": index_errors, "manifest": manifest, "path": path}


def test_the_page_loads_without_errors(page):
    assert page["errors"] == [] and page["index_errors"] == [], (page["errors"], page["index_errors"])
    assert page["elements"]["scripts"] == 1  # ours, allowed by its hash; nothing from the file names ran
    assert page["elements"]["title"] == page["manifest"]["source"]["file_name"]


def test_every_section_is_drawn(page):
    elements, manifest = page["elements"], page["manifest"]
    duration_s = manifest["source"]["duration_s"]
    # short-term values from 3 s on, momentary from 0.4 s, thinned to one per 10 ms at this length
    assert elements["shortTermPoints"] >= (duration_s - 3.0) * 100 * 0.9
    assert elements["momentaryPoints"] > elements["shortTermPoints"]
    assert elements["waveformLength"] > 1000
    width, height, complete = elements["spectrogram"]
    assert complete and width > 100 and height == 160
    assert elements["renditionRows"] == len(manifest["ladder"]["renditions"]) == 4


def test_the_transcript_highlights_the_flag(page):
    elements, manifest = page["elements"], page["manifest"]
    transcript = json.loads((page["path"].parent / manifest["transcript"]["paths"]["json"]).read_text())
    assert elements["segments"] == len(transcript["segments"]) >= 2
    assert elements["flaggedSegments"] >= 1
    assert any(PLANTED in mark.lower() for mark in elements["marks"]), elements["marks"]
    assert elements["flagButtons"] == len(manifest["flags"])


def test_clicking_a_flag_plays_from_its_time(page):
    player, seeked, target = page["player"], page["seeked"], page["target"]
    assert player["readyState"] >= 1 and player["error"] is None, player
    assert player["currentTime"] == 0 and target > 1.0
    assert player["duration"] == pytest.approx(page["manifest"]["source"]["duration_s"], abs=0.1)
    assert seeked["currentTime"] == pytest.approx(target, abs=0.5)  # it plays on from there
    assert not seeked["paused"]


def test_clicking_a_chart_plays_from_the_time_under_the_pointer(page):
    from audiokit.report.charts import CHART_WIDTH, MARGIN, WIDTH

    middle_s = (CHART_WIDTH / 2 - MARGIN) / WIDTH * page["manifest"]["source"]["duration_s"]
    assert page["on_chart"] == pytest.approx(middle_s, abs=0.3)


def test_the_screenshot_shows_the_page(page):
    from PIL import Image

    image = Image.open(io.BytesIO(page["screenshot"]))
    assert image.width == 1200 and image.height > 1500
    pixels = np.asarray(image.convert("RGB"), np.float32)
    assert pixels.std() > 10  # not a blank page
    assert (ARTIFACTS / "report.png").stat().st_size == len(page["screenshot"])


def test_the_index_links_the_report(page):
    assert page["index"] == [page["path"].resolve().as_uri()]
