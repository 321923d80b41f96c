"""Open an HTML file in headless Chromium and report what the page did.

Used by the tests of `ivrflow report --html` and `ivrflow traffic --html`: a page a
supervisor opens must load with no script error and no request for anything outside itself.

    from browser import open_in_chromium   # tests/e2e is on sys.path for its tests
    page = open_in_chromium(path)      # skips the test when Chromium is not installed
    assert page.errors == []
    assert "Funnel" in page.dom        # the DOM after scripts ran

`page.errors` holds uncaught exceptions, `console.error` calls, resources that failed to
load and any request for something that is not inside the page (a self-contained page makes
none). A small probe script is put in front of a copy of the page to see them; Chromium's own
log does not say which console messages are errors.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

# Flags that keep headless Chromium quiet on a machine with no network and no screen: without
# the background-networking ones it tries Google's hosts at every start.
_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=5000",
]

# Runs before the page's own scripts; what it saw ends up as attributes of <html>, which
# --dump-dom prints.
_PROBE = """<script>(function () {
  var seen = [], root = document.documentElement;
  function put() { root.setAttribute("data-probe-errors", JSON.stringify(seen)); }
  window.addEventListener("error", function (e) {
    var t = e.target;
    seen.push(e.message ? "error: " + e.message : "failed to load: " + (t && (t.src || t.href)));
    put();
  }, true);
  var original = console.error;
  console.error = function () {
    seen.push("console.error: " + Array.prototype.join.call(arguments, " "));
    put();
    return original.apply(console, arguments);
  };
  window.addEventListener("load", function () {
    performance.getEntriesByType("resource").forEach(function (r) {
      if (!/^(data|blob):/.test(r.name)) seen.push("request: " + r.name);
    });
    put();
    root.setAttribute("data-probe-loaded", "1");
  });
  put();
})();</script>
"""
_ERRORS = re.compile(r'data-probe-errors="([^"]*)"')


@dataclass
class Page:
    dom: str
    errors: list[str]
    log: str


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def open_in_chromium(path: Path, timeout: float = 60) -> Page:
    exe = chromium()
    if exe is None:
        pytest.skip("chromium is not installed (make test installs it as root via apt-get)")
    text = path.read_text(encoding="utf-8")
    cut = text.lower().find("<!doctype html>")
    cut = 0 if cut < 0 else cut + len("<!doctype html>")
    with tempfile.TemporaryDirectory(prefix="ivrflow-chromium-") as work:
        probed = Path(work) / path.name
        probed.write_text(text[:cut] + _PROBE + text[cut:], encoding="utf-8")
        proc = subprocess.run(
            [exe, *_FLAGS, f"--user-data-dir={work}/profile", "--dump-dom", probed.as_uri()],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    found = _ERRORS.search(proc.stdout)
    errors: list[str] = json.loads(html.unescape(found.group(1))) if found else []
    if 'data-probe-loaded="1"' not in proc.stdout:
        errors.append("the page never finished loading")
    if proc.returncode != 0:
        errors.append(f"chromium exited {proc.returncode}")
    return Page(dom=proc.stdout, errors=errors, log=proc.stderr)


# Measures the laid-out page once it loaded: a table wider than the window or than its own
# box (a column cut off or scrolled away), a cell whose text overflows it, a headline tile
# that overlaps another or whose text runs out of it, a page that scrolls sideways.
_LAYOUT = """<script>window.addEventListener("load", function () {
  var root = document.documentElement, vw = root.clientWidth, problems = [];
  function rect(e) { return e.getBoundingClientRect(); }
  var tables = document.querySelectorAll("table");
  tables.forEach(function (t, i) {
    var r = rect(t), name = "table " + (i + 1);
    if (r.right > vw + 0.5) problems.push(name + " ends at " + Math.round(r.right) + " px");
    if (t.scrollWidth > t.clientWidth + 1) problems.push(name + " scrolls sideways");
    t.querySelectorAll("th, td").forEach(function (c) {
      if (c.scrollWidth > c.clientWidth + 1 || rect(c).right > vw + 0.5)
        problems.push(name + ": clipped cell '" + c.textContent.slice(0, 30) + "'");
    });
  });
  var tiles = Array.prototype.slice.call(document.querySelectorAll(".tile"));
  tiles.forEach(function (a, i) {
    var ra = rect(a);
    tiles.slice(i + 1).forEach(function (b) {
      var rb = rect(b);
      if (ra.left < rb.right && rb.left < ra.right && ra.top < rb.bottom && rb.top < ra.bottom)
        problems.push("tiles overlap: " + a.textContent.slice(0, 20) + " / " + b.textContent.slice(0, 20));
    });
    a.querySelectorAll("*").forEach(function (c) {
      var rc = rect(c);
      if (rc.right > ra.right + 0.5 || c.scrollWidth > c.clientWidth + 1)
        problems.push("label runs out of its tile: " + c.textContent.slice(0, 30));
    });
  });
  if (document.body.scrollWidth > vw + 1) problems.push("the page scrolls sideways");
  root.setAttribute("data-layout", JSON.stringify(
    {width: vw, tables: tables.length, tiles: tiles.length, problems: problems}));
});</script>
"""
_LAYOUT_DATA = re.compile(r'data-layout="([^"]*)"')


@dataclass
class Layout:
    width: int  # the window's width the page was laid out in, CSS px
    tables: int
    tiles: int
    problems: list[str]
    screenshot: Path


def layout_in_chromium(path: Path, screenshot: Path, width: int = 1280) -> Layout:
    """Lay the page out in a `width` px window: what is clipped or overlaps, and a screenshot
    (PNG) of the top of the page at that width."""
    exe = chromium()
    if exe is None:
        pytest.skip("chromium is not installed (make test installs it as root via apt-get)")
    text = path.read_text(encoding="utf-8")
    cut = text.lower().find("</body>")
    cut = len(text) if cut < 0 else cut
    flags = [*_FLAGS, f"--window-size={width},1400", "--hide-scrollbars"]
    with tempfile.TemporaryDirectory(prefix="ivrflow-chromium-") as work:
        probed = Path(work) / path.name
        probed.write_text(text[:cut] + _LAYOUT + text[cut:], encoding="utf-8")
        proc = subprocess.run(
            [exe, *flags, f"--user-data-dir={work}/profile", "--dump-dom", probed.as_uri()],
            capture_output=True, text=True, encoding="utf-8", errors="replace",
            timeout=60, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        subprocess.run(
            [exe, *flags, f"--user-data-dir={work}/profile2", f"--screenshot={screenshot}",
             path.as_uri()],
            capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    found = _LAYOUT_DATA.search(proc.stdout)
    assert found, f"the layout probe did not run\n{proc.stderr[-2000:]}"
    data = json.loads(html.unescape(found.group(1)))
    return Layout(int(data["width"]), data["tables"], data["tiles"], data["problems"], screenshot)


__all__ = ["Layout", "Page", "chromium", "layout_in_chromium", "open_in_chromium"]
