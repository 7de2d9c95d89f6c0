"""A real headless Chromium (Debian's ``chromium``) driven by Playwright with
``executable_path``: Playwright's own browser downloads are never used.

``Browser()`` starts it (``MESOPY_CHROMIUM`` names another binary) with a
throw-away ``HOME`` (so it runs as root, from any directory), ``goto`` loads a
URL (``http_credentials``: the (user, password) the page answers HTTP Basic
challenges with, as a person logging in), ``wait_for`` waits for a JavaScript expression to be truthy *in the page*
(no sleeps in the test), ``click`` sends real mouse events at an element,
``type``, ``fill``, ``select`` and ``backspace`` real input, ``accept_dialogs`` says OK
to confirmations, ``screenshot`` saves a PNG. Uncaught page
errors are collected in ``errors``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import HttpCredentials
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

__all__ = ["Browser", "BrowserError", "chromium_path"]

FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage",
         "--no-first-run", "--no-default-browser-check", "--disable-extensions")


class BrowserError(Exception):
    pass


def chromium_path() -> str | None:
    return os.environ.get("MESOPY_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    def __init__(self, timeout: float = 30.0, http_credentials: tuple[str, str] | None = None) -> None:
        path = chromium_path()
        if path is None:
            raise BrowserError("no chromium: run tests/install_system_packages.sh (Debian's chromium) as root")
        self.timeout = timeout
        self.errors: list[str] = []
        self._home = tempfile.mkdtemp(prefix="mesopy-chromium-")
        env: dict[str, str | float | bool] = {**os.environ, "HOME": self._home, "XDG_CONFIG_HOME": self._home,
                                              "XDG_CACHE_HOME": self._home}
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=path, headless=True, args=list(FLAGS), env=env, timeout=1000 * timeout)
            login: HttpCredentials | None = None
            if http_credentials is not None:
                login = {"username": http_credentials[0], "password": http_credentials[1]}
            self._page = self._browser.new_page(viewport={"width": 1280, "height": 1000}, http_credentials=login)
        except PlaywrightError as e:
            self.close()
            raise BrowserError(f"chromium ({path}) did not start: {e}") from e
        self._page.set_default_timeout(1000 * timeout)
        self._page.on("pageerror", lambda error: self.errors.append(str(error)))

    def goto(self, url: str) -> None:
        try:
            self._page.goto(url, wait_until="load")
        except PlaywrightError as e:
            raise BrowserError(f"cannot load {url}: {e}") from e

    def evaluate(self, expression: str) -> Any:
        try:
            return self._page.evaluate(expression)
        except PlaywrightError as e:
            raise BrowserError(f"{expression[:200]}: {e}") from e

    def wait_for(self, expression: str, what: str, timeout: float | None = None) -> Any:
        """The truthy value of ``expression``, checked in the page at every animation frame,
        or AssertionError naming ``what`` with the page's text."""
        limit = timeout or self.timeout
        try:
            handle = self._page.wait_for_function(f"() => {{ try {{ return ({expression}); }} catch (e) {{ return null; }} }}",
                                                  timeout=1000 * limit)
        except PlaywrightTimeout:
            text = self.evaluate("document.body ? document.body.innerText : ''") or ""
            raise AssertionError(f"{what}: not within {limit} s; errors {self.errors}; page:\n{text[:3000]}") from None
        value = handle.json_value()
        handle.dispose()
        return value

    def click(self, selector: str) -> None:
        """A real left click (mouse events through the browser's input pipeline) on
        ``selector``, once it is in the page, visible and stable."""
        try:
            self._page.click(selector)
        except PlaywrightTimeout:
            raise AssertionError(f"no element {selector!r} to click within {self.timeout} s") from None

    def type(self, selector: str, text: str) -> None:
        """A click on ``selector``, then ``text`` typed into it (as an input method inserts it)."""
        self.click(selector)
        self._page.keyboard.insert_text(text)

    def fill(self, selector: str, text: str) -> None:
        """Replace the value of the input ``selector`` with ``text`` (real input events)."""
        self._page.fill(selector, text)

    def select(self, selector: str, value: str) -> None:
        """Choose the option ``value`` of the ``<select>`` ``selector`` (as a user picks it)."""
        self._page.select_option(selector, value)

    def accept_dialogs(self) -> None:
        """Answer every ``confirm()``/``alert()`` of the page with OK from now on."""
        self._page.on("dialog", lambda dialog: dialog.accept())

    def backspace(self, times: int = 1) -> None:
        for _ in range(times):
            self._page.keyboard.press("Backspace")

    def screenshot(self, path: str) -> str:
        self._page.screenshot(path=path, full_page=True)
        return path

    def close(self) -> None:
        browser = getattr(self, "_browser", None)
        try:
            if browser is not None:
                browser.close()
        finally:
            self._playwright.stop()
            shutil.rmtree(self._home, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
