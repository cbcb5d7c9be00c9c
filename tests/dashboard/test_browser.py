"""A real browser: `streamlit run` against a seeded data dir, one headless Chromium screenshot per page.

Needs Debian's ``chromium`` package (``apt-get install -y chromium``), driven by Playwright (which
waits for the page's own content instead of guessing a time budget); skipped with a reason when
``/usr/bin/chromium`` is absent. Screenshots land in ``var/screenshots/<name>.png``. Every request
the browser makes is watched: it must never leave the machine (no remote image, font or tracker).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app.sandbox import KNOWN

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "var" / "screenshots"
#: screenshot name → (path under the server, text that is on screen once the page has fully rendered)
PAGES = {
    "customer_card": (f"?customer={KNOWN['reference']}", "DETAILED JSON"),  # default page: the root
    "customer_card_deep_link": (f"customer_card?customer={KNOWN['reference']}", "DETAILED JSON"),
    "link_health": ("link_health", "lookups did not match"),
    "unmatched": ("unmatched", "Top reasons"),
    "actions": ("actions", "No actions submitted in this window"),
    "operations": ("operations", "Recent errors"),
}
MIN_PNG_BYTES = 40_000  # blank: ~7 KB; banner and sidebar only: ~35 KB; a rendered page: 80 KB+
RENDER_TIMEOUT_MS = 60_000
SETTLE_MS = 500
NO_SKELETONS = "() => document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


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


@contextmanager
def running_streamlit(log_path: Path, **env_overrides: str):
    from app.processes import free_port

    port = free_port()
    env = {**os.environ, **env_overrides}
    env.pop("OGTK_DASHBOARD_PASSWORD", None)
    with open(log_path, "wb") as log:
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


@pytest.fixture
def streamlit_server(seeded, sandbox, tmp_path):
    with running_streamlit(tmp_path / "streamlit.log", OGTK_DATA_DIR=str(seeded),
                           ORDERGROOVE_BASE_URL=sandbox.base_url, OGTK_ACTIONS="cancel,skip") as url:
        yield url


@pytest.fixture
def chromium():
    if not CHROMIUM.exists():
        pytest.skip("headless Chromium not installed: apt-get install -y chromium (Debian package)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (test extra) drives Chromium")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _watched_page(browser, **context_options):
    """A page whose requests off this machine are recorded and refused (``page.off_machine``)."""
    context = browser.new_context(viewport={"width": 1400, "height": 2200}, **context_options)
    page = context.new_page()
    page.off_machine = []

    def guard(route):
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            page.off_machine.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    return page


def _settle(page, marker: str) -> None:
    """Wait for ``marker``, then for the script run to finish and the skeletons to go."""
    page.get_by_text(marker).first.wait_for(timeout=RENDER_TIMEOUT_MS)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=RENDER_TIMEOUT_MS)
    page.wait_for_function(NO_SKELETONS, timeout=RENDER_TIMEOUT_MS)
    page.wait_for_timeout(SETTLE_MS)  # let the fade-in of freshly rendered elements end


def _shoot(page, name: str) -> Path:
    shot = SHOTS / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    return shot


def test_screenshot_of_each_page(streamlit_server, chromium):
    page = _watched_page(chromium)
    for name, (path, marker) in PAGES.items():
        page.goto(f"{streamlit_server}/{path}")
        _settle(page, marker)
        assert page.locator('[data-testid="stException"]').count() == 0, name
        assert page.get_by_text("Page not found").count() == 0, name
        shot = _shoot(page, name)
        assert shot.stat().st_size > MIN_PNG_BYTES, (name, shot.stat().st_size)
    page.goto(f"{streamlit_server}/?customer={KNOWN['reference']}")
    _settle(page, "DETAILED JSON")
    page.get_by_role("button", name="Cancel subscription").first.click()
    _settle(page, "read-only: Gladly renders it")
    _shoot(page, "customer_card_cancel_form")
    assert page.off_machine == []


def test_a_browser_elsewhere_sees_no_customer_data(streamlit_server, chromium):
    """Seen through a proxy on this machine (which Streamlit trusts for ``X-Forwarded-For``), the
    browser is on another machine: no password set, so the card must not appear."""
    page = _watched_page(chromium, extra_http_headers={"X-Forwarded-For": "203.0.113.9"})
    page.goto(f"{streamlit_server}/?customer={KNOWN['reference']}")
    _settle(page, "only answers a browser on the machine")
    body = page.inner_text("body")
    assert "203.0.113.9" in body
    assert "Dana" not in body and "dana.reyes" not in body and "DETAILED JSON" not in body
    _shoot(page, "refused_other_machine")


def test_injected_markup_stays_text_in_the_browser(dashboard_env, chromium, tmp_path):
    """Ordergroove names that are markdown render as their characters: no image, no link."""
    from app.sandbox import SandboxServer

    with SandboxServer(seed=8809, customers=40) as evil:
        customer = evil.dataset.customer(KNOWN["reference"])
        customer["first_name"], customer["last_name"] = "**Dana**", "[call me](https://evil.example/x)"
        for product_id in KNOWN["reference_products"]:
            evil.dataset.product_by_id[product_id]["name"] = "![x](https://evil/pixel) https://evil.example.org/y"
        with running_streamlit(tmp_path / "streamlit.log", OGTK_DATA_DIR=str(dashboard_env),
                               ORDERGROOVE_BASE_URL=evil.base_url) as url:
            page = _watched_page(chromium)
            page.goto(f"{url}/?customer={KNOWN['reference']}")
            _settle(page, "DETAILED JSON")
            _shoot(page, "customer_card_injected_names")
            main = page.locator('[data-testid="stMain"]')
            assert "**Dana** [call me](https://evil.example/x)" in main.inner_text().replace("\u200b", "")
            assert main.get_by_text("![x](https://evil/pixel)").count() >= 1
            assert page.locator("img[src*='evil'], a[href*='evil']").count() == 0
            assert page.off_machine == []


def test_unmatched_view_on_the_demo_history(dashboard_env, sandbox, chromium, tmp_path):
    """Unmatched, Link health, Actions and Operations (webhooks) over the demo's synthetic history."""
    from app.events import EventStore, seed_synthetic_events

    store = EventStore(dashboard_env / "events.sqlite3")
    seed_synthetic_events(store, 30_000, seed=11)
    store.mark_synthetic()
    store.close()
    with running_streamlit(tmp_path / "streamlit.log", OGTK_DATA_DIR=str(dashboard_env),
                           ORDERGROOVE_BASE_URL=sandbox.base_url,
                           GLADLY_PROFILE_URL="https://acme.gladly.com/customer/{id}",
                           ORDERGROOVE_WEBHOOK_KEY="demo-key", OGTK_ACTIONS="cancel,skip") as url:
        page = _watched_page(chromium)
        for name, path, marker in (("unmatched_demo_data", "unmatched", "Top reasons"),
                                   ("link_health_demo_data", "link_health", "lookups did not match"),
                                   ("actions_demo_data", "actions", "Recent submits"),
                                   ("operations_demo_data", "operations", "Recent errors")):
            page.goto(f"{url}/{path}")
            _settle(page, marker)
            assert page.get_by_text("Synthetic demo data.").count() == 1, name
            assert page.locator('[data-testid="stException"]').count() == 0, name
            _shoot(page, name)
        page.goto(f"{url}/unmatched")
        _settle(page, "Top reasons")
        page.get_by_text("30 d", exact=True).click()
        _settle(page, "Top reasons")
        _shoot(page, "unmatched_demo_data_30d")
        assert page.off_machine == []
