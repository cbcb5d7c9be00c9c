"""A real browser: `streamlit run` against a seeded data dir, one headless Chromium screenshot per page.

Needs Debian's ``chromium`` package (``apt-get install -y chromium``); skipped with a reason when
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
BUDGET_MS = 30_000

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


def _chromium(profile: Path, budget_ms: int, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", "--window-size=1400,1000",
         *args],
        check=True, timeout=120, capture_output=True)


def test_screenshot_of_each_page(streamlit_server, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("headless Chromium not installed: apt-get install -y chromium (Debian package)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    profile = tmp_path / "chromium"
    # Streamlit renders over a websocket, which Chromium's virtual time does not wait for, so a
    # page's first (cold) render can be captured half-done. Load each page until its DOM shows
    # the last section (which also warms the server), then screenshot, retrying a blank capture.
    for name, (path, marker) in PAGES.items():
        url = f"{streamlit_server}/{path}"
        rendered = False
        for _attempt in range(4):
            rendered = marker in _chromium(profile, BUDGET_MS, "--dump-dom", url).stdout.decode()
            if rendered:
                break
        assert rendered, f"{name}: {marker!r} never appeared"
        shot = SHOTS / f"{name}.png"
        size = 0
        for _attempt in range(5):
            shot.unlink(missing_ok=True)
            _chromium(profile, BUDGET_MS, f"--screenshot={shot}", url)
            size = shot.stat().st_size if shot.exists() else 0
            if size > MIN_PNG_BYTES:
                break
        assert shot.exists(), name
        assert size > MIN_PNG_BYTES, (name, size)
