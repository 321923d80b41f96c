"""The Chromium probe itself: a broken page must be reported, or the HTML tests prove nothing."""

from __future__ import annotations

from pathlib import Path

from browser import open_in_chromium


def test_a_clean_page_has_no_errors(tmp_path: Path) -> None:
    page = tmp_path / "ok.html"
    page.write_text(
        "<!doctype html><html><body><p id=p></p>"
        "<script>document.getElementById('p').textContent = 'drawn by script';</script>"
        "</body></html>"
    )
    seen = open_in_chromium(page)
    assert seen.errors == []
    assert "drawn by script" in seen.dom


def test_script_errors_and_outside_requests_are_reported(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text(
        "<!doctype html><html><body><img src='http://127.0.0.1:9/x.png'>"
        "<script>console.error('boom'); missingFunction();</script></body></html>"
    )
    errors = open_in_chromium(page).errors
    assert "console.error: boom" in errors
    assert any("missingFunction" in e for e in errors)
    assert any("127.0.0.1:9/x.png" in e for e in errors)
