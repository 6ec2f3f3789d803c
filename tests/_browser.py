"""Debian's headless Chromium driven through the Chrome DevTools Protocol (CDP) over a pipe.

``chromium --remote-debugging-pipe`` reads CDP commands from file descriptor 3
and writes replies and events to descriptor 4, each message one JSON document
ended by a NUL byte (chromium's ``devtools_pipe_handler.cc``); no WebSocket
library is needed. :class:`Browser` opens one page, records everything the
page logs (console calls, uncaught exceptions, the browser log: failed loads,
Content-Security-Policy violations), evaluates scripts, clicks with real
mouse events, and takes screenshots. In a test::

    with Browser(tmp_path) as browser:
        browser.open(page.as_uri())
        title = browser.evaluate("document.title")
        png = browser.screenshot()
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

__all__ = ["Browser", "BrowserError", "CHROMIUM_FLAGS", "chromium"]

#: Headless, no network beyond what the page loads, no first-run work, autoplay allowed, muted.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required", "--mute-audio", "--hide-scrollbars",
)
COMMAND_TIMEOUT_S = 60.0


class BrowserError(RuntimeError):
    """A CDP command failed or timed out."""


def chromium() -> str | None:
    """Path of Debian's ``chromium``, or None when it is not installed."""
    return shutil.which("chromium")


class Browser:
    """One headless Chromium with one page, driven over ``--remote-debugging-pipe``.

    Parameters
    ----------
    work_dir : Path
        Holds the browser profile and ``chromium.log``.
    width, height : int
        Viewport, CSS pixels.
    """

    def __init__(self, work_dir: Path, *, width: int = 1200, height: int = 900) -> None:
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.work_dir / "chromium.log"
        #: console calls, exceptions and browser log entries of the page, as {"kind", "level", "text"}
        self.messages: list[dict] = []
        self._events: queue.Queue = queue.Queue()
        self._replies: dict[int, dict] = {}
        self._reply_ready = threading.Condition()
        self._next_id = 0
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def child_fds() -> None:  # chromium reads commands on 3 and writes on 4
            os.dup2(to_browser_read, 3)
            os.dup2(from_browser_write, 4)

        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                [chromium() or "chromium", *CHROMIUM_FLAGS, "--remote-debugging-pipe",
                 f"--user-data-dir={self.work_dir / 'profile'}", f"--window-size={width},{height}", "about:blank"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                # kept open by number: the child's descriptors are closed after preexec_fn made 3 and 4
                pass_fds=(3, 4), preexec_fn=child_fds, start_new_session=True)
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._reply_ready:
                    self._reply_ready.notify_all()
                return
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:
                    with self._reply_ready:
                        self._replies[message["id"]] = message
                        self._reply_ready.notify_all()
                else:
                    self._record(message)
                    self._events.put(message)

    def _record(self, event: dict) -> None:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", []))
            self.messages.append({"kind": "console", "level": params.get("type"), "text": text})
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text", "")
            self.messages.append({"kind": "exception", "level": "error", "text": text})
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            self.messages.append({"kind": f"log:{entry.get('source')}", "level": entry.get("level"),
                                  "text": f"{entry.get('text', '')} {entry.get('url', '')}".strip()})

    def send(self, method: str, params: dict | None = None, *, session: str | None = None) -> dict:
        """Send one CDP command (to the browser, or to ``session``) and return its result."""
        self._next_id += 1
        identity = self._next_id
        message: dict = {"id": identity, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode("utf-8") + b"\0")
        deadline = time.monotonic() + COMMAND_TIMEOUT_S
        with self._reply_ready:
            while identity not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or not self._reader.is_alive():
                    raise BrowserError(f"{method}: no reply (see {self.log_path})")
                self._reply_ready.wait(left)
            reply = self._replies.pop(identity)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def call(self, method: str, params: dict | None = None) -> dict:
        """Send one CDP command to the page."""
        return self.send(method, params, session=self._session)

    def wait_for(self, method: str, timeout_s: float = COMMAND_TIMEOUT_S) -> dict:
        """The next event ``method`` of the page (earlier events of other kinds are dropped)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                event = self._events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise BrowserError(f"no {method} within {timeout_s} s (see {self.log_path})") from None
            if event.get("method") == method and event.get("sessionId") == self._session:
                return event.get("params", {})

    def open(self, url: str) -> None:
        """Load ``url`` and wait for its load event."""
        while not self._events.empty():
            self._events.get_nowait()
        self.call("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str):
        """The JSON value of a JavaScript expression in the page (promises are awaited)."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:80]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """Scroll the first element matching ``selector`` into view and click its centre with the mouse."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.scrollIntoView({{block: 'center'}});"
            " const r = e.getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", {"type": kind, "x": box["x"], "y": box["y"], "button": "left",
                                                   "clickCount": 1})

    def screenshot(self, *, full_page: bool = True) -> bytes:
        """A PNG of the viewport, or of the whole page."""
        params: dict = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            size = self.evaluate("({w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight})")
            params["clip"] = {"x": 0, "y": 0, "width": size["w"], "height": size["h"], "scale": 1}
        return base64.b64decode(self.call("Page.captureScreenshot", params)["data"])

    def errors(self) -> list[dict]:
        """Every error the page logged so far."""
        return [message for message in self.messages if message["level"] in ("error", "assert")]

    def close(self) -> None:
        """End the browser: the process group this object started, SIGTERM then SIGKILL."""
        try:
            os.killpg(self._process.pid, signal.SIGTERM)
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        except ProcessLookupError:
            pass
        os.close(self._to_browser)
        self._reader.join(timeout=5)
        os.close(self._from_browser)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
