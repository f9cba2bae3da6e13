"""Load a page in headless Chromium (the Debian package `chromium`) over the DevTools protocol:
what went wrong while it loaded (console errors, uncaught exceptions, failed loads) and the
values of JavaScript expressions evaluated in it afterwards."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import websocket

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass(frozen=True)
class LoadedPage:
    errors: list[str]  # console errors, uncaught exceptions, failed loads
    values: dict[str, Any]  # expression name -> its value in the loaded page


def _devtools_port(profile: Path, process: subprocess.Popen, timeout: float) -> int:
    """The port Chromium chose: the first line of DevToolsActivePort in its profile folder."""
    marker, deadline = profile / "DevToolsActivePort", time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if marker.is_file() and marker.read_text().strip():
            return int(marker.read_text().splitlines()[0])
        time.sleep(0.1)
    raise RuntimeError("chromium did not open its DevTools port")


def _error_text(message: dict) -> str | None:
    """The error an event reports, None when it reports none."""
    method, params = message.get("method"), message.get("params", {})
    if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
        args = (a.get("value", a.get("description")) for a in params["args"])
        return "console: " + " ".join(map(str, args))
    if method == "Runtime.exceptionThrown":
        details = params["exceptionDetails"]
        return "exception: " + details.get("exception", {}).get("description", details["text"])
    if method == "Log.entryAdded" and params["entry"]["level"] == "error":
        entry = params["entry"]
        return f"log: {entry['text']} {entry.get('url', '')}".strip()
    return None


def load_page(url: str, expressions: dict[str, str], timeout: float = 60.0) -> LoadedPage:
    """Open `url` in a fresh headless Chromium, wait for its load event, evaluate `expressions`."""
    if CHROMIUM is None:
        raise RuntimeError("chromium is not installed")
    with tempfile.TemporaryDirectory(prefix="mcvrt-chromium-") as profile:
        process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            port = _devtools_port(Path(profile), process, timeout)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=timeout) as r:
                target = next(t for t in json.load(r) if t["type"] == "page")
            ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=timeout)
            try:
                return _drive(ws, url, expressions)
            finally:
                ws.close()
        finally:
            process.terminate()
            process.wait(timeout=30)


def _drive(ws: websocket.WebSocket, url: str, expressions: dict[str, str]) -> LoadedPage:
    ids, events = itertools.count(1), []

    def call(method: str, **params: Any) -> dict:
        """Send one command; keep the events that arrive before its answer."""
        number = next(ids)
        ws.send(json.dumps({"id": number, "method": method, "params": params}))
        while (message := json.loads(ws.recv())).get("id") != number:
            events.append(message)
        if "error" in message:
            raise RuntimeError(f"{method}: {message['error']}")
        return message["result"]

    for domain in ("Runtime", "Log", "Page"):
        call(f"{domain}.enable")
    call("Page.navigate", url=url)
    while not any(e.get("method") == "Page.loadEventFired" for e in events):
        events.append(json.loads(ws.recv()))
    values = {name: call("Runtime.evaluate", expression=js, returnByValue=True)["result"]["value"]
              for name, js in expressions.items()}
    errors = [text for e in events if (text := _error_text(e)) is not None]
    return LoadedPage(errors, values)
