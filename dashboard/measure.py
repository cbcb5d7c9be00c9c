"""Page load times of the dashboard on a big event store: ``python -m dashboard.measure``.

Seeds ``--events`` synthetic lookups (default 1,000,000, over 30 days) into a scratch data
directory, starts a sandbox Ordergroove, and times each page with Streamlit's AppTest: "cold"
is the first render with every Streamlit cache empty, "warm" a rerun within the 30 s cache TTL.
Target: every page under 2 s cold. Not part of the test suite (seeding takes a while).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ENTRYPOINT = Path(__file__).resolve().parent / "streamlit_app.py"
TARGET_S = 2.0


def _timed(action) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def measure(events: int, data_dir: Path) -> list[tuple[str, float]]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from app.events import EventStore, seed_synthetic_events
    from app.sandbox import KNOWN, SandboxServer

    os.environ["OGTK_DATA_DIR"] = str(data_dir)
    store = EventStore(data_dir / "events.sqlite3")
    if store.count() < events:
        print(f"seeding {events:,} events …", flush=True)
        seconds = _timed(lambda: seed_synthetic_events(store, events - store.count(), seed=7))
        print(f"seeded in {seconds:.1f} s", flush=True)
    store.close()

    shutil.rmtree(data_dir / "cache", ignore_errors=True)  # the card's first load really goes to Ordergroove
    rows: list[tuple[str, float]] = []

    def app(page: str | None = None) -> AppTest:
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(str(ENTRYPOINT), default_timeout=120)
        if page:
            at.switch_page(page)
        return at

    def run(name: str, at: AppTest) -> AppTest:
        seconds = _timed(at.run)
        if at.exception:
            raise SystemExit(f"{name}: {at.exception[0].value}")
        rows.append((name, seconds))
        return at

    with SandboxServer() as sandbox:
        os.environ["ORDERGROOVE_BASE_URL"] = sandbox.base_url
        at = run("Customer card: empty search (cold)", app())
        at.text_input(key="card_query").set_value(KNOWN["reference"])
        run("Customer card: reference customer, Ordergroove cache cold", at)
        run("Customer card: reference customer (warm)", at)

        at = run("Link health: 24 h (cold)", app("app_pages/link_health.py"))
        run("Link health: 24 h (warm)", at)
        for choice in ("7 d", "30 d"):
            at.button_group[0].set_value(choice)
            run(f"Link health: {choice} (cold for that window)", at)
        at.button_group[1].set_value("BASIC")
        run("Link health: 30 d, BASIC only (cold)", at)
        run("Link health: 30 d, BASIC only (warm)", at)

        at = run("Unmatched: 7 d (cold)", app("app_pages/unmatched.py"))
        run("Unmatched: 7 d (warm)", at)
        at.button_group[0].set_value("30 d")
        run("Unmatched: 30 d (cold for that window)", at)

        at = run("Actions: 7 d (cold)", app("app_pages/actions.py"))
        at.button_group[0].set_value("30 d")
        run("Actions: 30 d (cold for that window)", at)

        at = run("Operations: 24 h (cold)", app("app_pages/operations.py"))
        run("Operations: 24 h (warm)", at)
        at.button_group[0].set_value("30 d")
        run("Operations: 30 d (cold for that window)", at)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, help="reuse (and keep) this data directory")
    args = parser.parse_args(argv)
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    os.environ.pop("OGTK_DASHBOARD_PASSWORD", None)
    os.environ["OGTK_DASHBOARD_OPEN"] = "1"  # AppTest has no browser peer; nothing listens on a network
    scratch = args.data_dir or Path(tempfile.mkdtemp(prefix="ogtk-measure-"))
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        rows = measure(args.events, scratch)
    finally:
        if args.data_dir is None:
            shutil.rmtree(scratch, ignore_errors=True)
    width = max(len(name) for name, _ in rows)
    print(f"\nDashboard page load times, {args.events:,} events (AppTest, target < {TARGET_S:.0f} s)")
    print(f"{'page':<{width}}  seconds")
    for name, seconds in rows:
        flag = "" if seconds < TARGET_S else "  <-- over target"
        print(f"{name:<{width}}  {seconds:7.3f}{flag}")
    return 0 if all(seconds < TARGET_S for _, seconds in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
