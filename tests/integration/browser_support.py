"""A real headless Chromium driven over the Chrome DevTools Protocol: a websocket
(aiohttp's client) to the browser, one page attached in flattened session mode.

``Browser()`` starts Debian's ``chromium`` (``MESOPY_CHROMIUM`` names another)
with a throw-away ``--user-data-dir`` (so it runs as root, from any directory),
``goto`` loads a URL, ``wait_for`` waits for a JavaScript expression to be
truthy *in the page* (no sleeps in the test), ``click`` sends real mouse
events at an element's centre, ``type`` and ``backspace`` real input, ``screenshot`` saves a PNG. Uncaught page
errors are collected in ``errors``.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from typing import Any

import aiohttp

__all__ = ["Browser", "BrowserError", "chromium_path"]

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage",
         "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--window-size=1280,1000")
LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


class BrowserError(Exception):
    pass


def chromium_path() -> str | None:
    return os.environ.get("MESOPY_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    def __init__(self, timeout: float = 30.0) -> None:
        path = chromium_path()
        if path is None:
            raise BrowserError("no chromium: run tests/install_system_packages.sh (Debian's chromium) as root")
        self.timeout = timeout
        self.errors: list[str] = []
        self._profile = tempfile.mkdtemp(prefix="mesopy-chromium-")
        env = dict(os.environ, HOME=self._profile, XDG_CONFIG_HOME=self._profile, XDG_CACHE_HOME=self._profile)
        self._process = subprocess.Popen(
            [path, *FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-port=0", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        self._stderr: list[str] = []
        found = threading.Event()
        self._ws_url = ""
        threading.Thread(target=self._read_stderr, args=(found,), daemon=True).start()
        if not found.wait(timeout) or not self._ws_url:
            self.close()
            raise BrowserError(f"chromium did not open DevTools within {timeout} s: {''.join(self._stderr)[-2000:]}")
        self._loop = asyncio.new_event_loop()
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._events: dict[str, list[asyncio.Future[Any]]] = {}
        self._session = ""
        try:
            self._run(self._connect())
        except BaseException:
            self.close()
            raise

    def _read_stderr(self, found: threading.Event) -> None:
        assert self._process.stderr is not None
        for line in self._process.stderr:  # drained to the end, so chromium never blocks on it
            if len(self._stderr) < 200:
                self._stderr.append(line)
            match = LISTENING.search(line)
            if match and not found.is_set():
                self._ws_url = match.group(1)
                found.set()
        found.set()

    def _run(self, coroutine: Any) -> Any:
        return self._loop.run_until_complete(asyncio.wait_for(coroutine, self.timeout * 2))

    async def _connect(self) -> None:
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(self._ws_url, max_msg_size=0)
        self._reader = asyncio.ensure_future(self._read())
        target = await self._call("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = await self._call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True},
                                    session=False)
        self._session = attached["sessionId"]
        for domain in ("Page.enable", "Runtime.enable"):
            await self._call(domain)

    async def _read(self) -> None:
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "id" in data:
                future = self._pending.pop(data["id"], None)
                if future is not None and not future.done():
                    if "error" in data:
                        future.set_exception(BrowserError(f"{data['error']}"))
                    else:
                        future.set_result(data.get("result", {}))
                continue
            method = data.get("method", "")
            if method == "Runtime.exceptionThrown":
                details = data["params"]["exceptionDetails"]
                self.errors.append(str(details.get("exception", {}).get("description") or details.get("text")))
            for waiter in self._events.pop(method, []):
                if not waiter.done():
                    waiter.set_result(data.get("params", {}))
        for future in self._pending.values():
            if not future.done():
                future.set_exception(BrowserError("the DevTools connection closed"))

    async def _call(self, method: str, params: dict[str, Any] | None = None, session: bool = True) -> Any:
        ident = next(self._ids)
        future: asyncio.Future[Any] = self._loop.create_future()
        self._pending[ident] = future
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        await self._ws.send_str(json.dumps(message))
        return await asyncio.wait_for(future, self.timeout)

    def _event(self, method: str) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = self._loop.create_future()
        self._events.setdefault(method, []).append(future)
        return future

    # --- what tests use -----------------------------------------------------------

    def goto(self, url: str) -> None:
        async def go() -> None:
            loaded = self._event("Page.loadEventFired")
            result = await self._call("Page.navigate", {"url": url})
            if result.get("errorText"):
                raise BrowserError(f"cannot load {url}: {result['errorText']}")
            if result.get("loaderId"):  # none for a same-document navigation (only the #fragment changed)
                await asyncio.wait_for(loaded, self.timeout)
            else:
                self._events["Page.loadEventFired"].remove(loaded)
        self._run(go())

    def evaluate(self, expression: str) -> Any:
        result = self._run(self._call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                            "awaitPromise": True}))
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise BrowserError(f"{expression[:200]}: {details.get('exception', {}).get('description') or details}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout: float | None = None) -> Any:
        """The truthy value of ``expression``, checked in the page at every animation frame
        and DOM change, or AssertionError naming ``what`` with the page's text."""
        limit = int(1000 * (timeout or self.timeout))
        script = f"""new Promise(resolve => {{
            const probe = () => {{ try {{ return ({expression}); }} catch (e) {{ return null; }} }};
            const done = value => {{ observer.disconnect(); clearTimeout(timer); clearInterval(tick); resolve(value); }};
            const tick = setInterval(() => {{ const v = probe(); if (v) done(v); }}, 100);
            const observer = new MutationObserver(() => {{ const v = probe(); if (v) done(v); }});
            const timer = setTimeout(() => done({{timedOut: true}}), {limit});
            observer.observe(document, {{subtree: true, childList: true, characterData: true, attributes: true}});
            const first = probe(); if (first) done(first);
        }})"""
        value = self.evaluate(script)
        if isinstance(value, dict) and value.get("timedOut"):
            text = self.evaluate("document.body ? document.body.innerText : ''") or ""
            raise AssertionError(f"{what}: not within {limit / 1000} s; errors {self.errors}; page:\n{text[:3000]}")
        return value

    def click(self, selector: str) -> None:
        """A real left click (mouse events through the browser's input pipeline) on ``selector``,
        once it is in the page."""
        self.wait_for(f"document.querySelector({json.dumps(selector)})", f"an element {selector!r} to click")
        rect = self.evaluate(f"""(() => {{
            const el = document.querySelector({json.dumps(selector)});
            if (!el) return null;
            el.scrollIntoView({{block: "center"}});
            const r = el.getBoundingClientRect();
            return {{x: r.left + r.width / 2, y: r.top + r.height / 2}};
        }})()""")
        if rect is None:
            raise AssertionError(f"no element {selector!r} to click")

        async def press() -> None:
            for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
                await self._call("Input.dispatchMouseEvent", {"type": kind, "x": rect["x"], "y": rect["y"],
                                                               "button": "left", "clickCount": 1})
        self._run(press())

    def type(self, selector: str, text: str) -> None:
        """A click on ``selector``, then ``text`` typed into it (as an input method inserts it)."""
        self.click(selector)
        self._run(self._call("Input.insertText", {"text": text}))

    def backspace(self, times: int = 1) -> None:
        async def press() -> None:
            for _ in range(times):
                for kind in ("keyDown", "keyUp"):
                    await self._call("Input.dispatchKeyEvent", {"type": kind, "key": "Backspace", "code": "Backspace",
                                                                 "windowsVirtualKeyCode": 8})
        self._run(press())

    def screenshot(self, path: str) -> str:
        result = self._run(self._call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}))
        with open(path, "wb") as f:
            f.write(base64.b64decode(result["data"]))
        return path

    def close(self) -> None:
        loop = getattr(self, "_loop", None)
        if loop is not None and not loop.is_closed():
            try:
                if hasattr(self, "_ws"):
                    loop.run_until_complete(asyncio.wait_for(self._call("Browser.close", session=False), 5))
            except Exception:
                pass  # killed below
            for closing in ("_ws", "_http"):
                if hasattr(self, closing):
                    loop.run_until_complete(getattr(self, closing).close())
            if hasattr(self, "_reader"):
                self._reader.cancel()
                loop.run_until_complete(asyncio.gather(self._reader, return_exceptions=True))
            loop.close()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
