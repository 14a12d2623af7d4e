"""Headless Chromium for tests that render our HTML pages (skipped when it is not installed)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from scenarios.reports.debrief import chromium

_QUIET = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> str:
    """The browser, or skip the test."""
    browser = chromium()
    if browser is None:
        pytest.skip("chromium is not installed (.ci/run installs it)")
    return browser


def screenshot(page: Path, shot: Path, work: Path) -> str:
    """Render ``page`` to ``shot``; return Chromium's log (console messages show there)."""
    proc = subprocess.run(
        [
            require_chromium(),
            *_QUIET,
            f"--user-data-dir={work / 'profile-shot'}",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,4000",
            f"--screenshot={shot}",
            "--virtual-time-budget=3000",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.stderr


def dom(page: Path, work: Path, fragment: str = "") -> str:
    """The page's DOM after Chromium loaded it (at ``#fragment`` when given)."""
    return subprocess.run(
        [
            require_chromium(),
            *_QUIET,
            f"--user-data-dir={work / 'profile-dom'}",
            "--dump-dom",
            page.as_uri() + (f"#{fragment}" if fragment else ""),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout


_MEASURE = """
<script>
window.addEventListener("load", () => {
  const root = document.documentElement;
  const images = Array.from(document.images);
  document.body.dataset.overflow = String(root.scrollWidth > root.clientWidth);
  document.body.dataset.images = String(images.length);
  const broken = images.filter(i => !(i.complete && i.naturalWidth > 0));
  document.body.dataset.broken = String(broken.length);
});
</script>
"""


def layout(page: Path, work: Path) -> dict[str, str]:
    """Load a copy of ``page`` (beside it, so relative images resolve) in a 1280-pixel window and
    report: whether it scrolls sideways (``overflow``), its images, and how many failed to load."""
    probe = page.with_name(f".measured-{page.name}")
    probe.write_text(
        page.read_text(encoding="utf-8").replace("</body>", _MEASURE + "</body>"), "utf-8"
    )
    out = subprocess.run(
        [
            require_chromium(),
            *_QUIET,
            f"--user-data-dir={work / 'profile-layout'}",
            "--window-size=1280,1000",
            "--virtual-time-budget=5000",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    probe.unlink()
    found = dict(re.findall(r'data-(overflow|images|broken)="([^"]*)"', out))
    return found
