"""A real browser: `streamlit run` against a seeded data dir, one headless Chromium screenshot per page.

Needs Debian's ``chromium`` package (``apt-get install -y chromium``), driven by Playwright (which
waits for the page's own content instead of guessing a time budget); skipped with a reason when
``/usr/bin/chromium`` is absent. Screenshots land in ``var/screenshots/<page>.png``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from app.sandbox import KNOWN

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "var" / "screenshots"
#: page → (path under the server, text that is on screen once the page has fully rendered)
PAGES = {
    "customer_card": (f"?customer={KNOWN['reference']}", "DETAILED JSON"),  # default page: the root
    "link_health": ("link_health", "Unmatched identifiers"),
    "operations": ("operations", "Recent errors"),
}
MIN_PNG_BYTES = 40_000  # blank: ~7 KB; banner and sidebar only: ~35 KB; a rendered page: 80 KB+
RENDER_TIMEOUT_MS = 60_000
SETTLE_MS = 500
NO_SKELETONS = "() => document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0"

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"streamlit exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("streamlit did not become healthy in time")


@pytest.fixture
def streamlit_server(seeded, sandbox, tmp_path):
    port = _free_port()
    env = {**os.environ, "OGTK_DATA_DIR": str(seeded), "ORDERGROOVE_BASE_URL": sandbox.base_url}
    env.pop("OGTK_DASHBOARD_PASSWORD", None)
    log = open(tmp_path / "streamlit.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/streamlit_app.py",
         "--server.port", str(port), "--server.headless", "true", "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_screenshot_of_each_page(streamlit_server):
    if not CHROMIUM.exists():
        pytest.skip("headless Chromium not installed: apt-get install -y chromium (Debian package)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (test extra) drives Chromium")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2200})
            for name, (path, marker) in PAGES.items():
                page.goto(f"{streamlit_server}/{path}")
                # Streamlit renders over a websocket: wait for the page's last section, then for
                # the script run to finish (the "running" indicator disappears).
                page.get_by_text(marker).first.wait_for(timeout=RENDER_TIMEOUT_MS)
                page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=RENDER_TIMEOUT_MS)
                page.wait_for_function(NO_SKELETONS, timeout=RENDER_TIMEOUT_MS)
                page.wait_for_timeout(SETTLE_MS)  # let the fade-in of freshly rendered elements end
                assert page.locator('[data-testid="stException"]').count() == 0, name
                shot = SHOTS / f"{name}.png"
                page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > MIN_PNG_BYTES, (name, shot.stat().st_size)
        finally:
            browser.close()
