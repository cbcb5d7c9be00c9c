"""``make run``: the whole toolkit on one machine, no Ordergroove account needed.

Starts the Ordergroove sandbox, the lookup API under gunicorn against it, sends a burst of
simulated signed Gladly lookups so the event store has realistic content, then starts the
dashboard, prints where everything listens, and keeps running until Ctrl-C (which stops all).
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from .settings import SANDBOX_DEFAULT_API_KEY
from .simulate import GladlyClient, demo_plan, fetch_sandbox_customers, new_signing_key

ROOT = Path(__file__).resolve().parent.parent


def wait_until_up(url: str, what: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited early with code {process.returncode}; see its output above")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not come up at {url} within {timeout:.0f}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sandbox-port", type=int, default=8700)
    parser.add_argument("--api-port", type=int, default=8000)
    parser.add_argument("--dashboard-port", type=int, default=8501)
    parser.add_argument("--lookups", type=int, default=400, help="size of the simulated Gladly burst")
    parser.add_argument("--latency-ms", type=int, default=40, help="sandbox latency per request")
    parser.add_argument("--data-dir", default=str(ROOT / "var" / "demo"))
    parser.add_argument("--no-dashboard", action="store_true")
    parser.add_argument("--exit-after-traffic", action="store_true", help="stop everything after the burst")
    args = parser.parse_args(argv)

    sandbox_url = f"http://127.0.0.1:{args.sandbox_port}"
    api_url = f"http://127.0.0.1:{args.api_port}"
    signing_key = os.environ.get("GLADLY_SIGNING_KEY") or new_signing_key()
    env = {
        **os.environ,
        "ORDERGROOVE_BASE_URL": sandbox_url,
        "ORDERGROOVE_API_KEY": SANDBOX_DEFAULT_API_KEY,
        "GLADLY_SIGNING_KEY": signing_key,
        "OGTK_DATA_DIR": args.data_dir,
        "OGTK_BIND": f"127.0.0.1:{args.api_port}",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    Path(args.data_dir).mkdir(parents=True, exist_ok=True)
    children: list[subprocess.Popen] = []

    def start(command: list[str], extra_env: dict | None = None) -> subprocess.Popen:
        process = subprocess.Popen(command, cwd=ROOT, env={**env, **(extra_env or {})}, start_new_session=True)
        children.append(process)
        return process

    def stop_all(*_: object) -> None:
        for process in reversed(children):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in children:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    signal.signal(signal.SIGTERM, lambda *_: (stop_all(), sys.exit(0)))
    try:
        print(f"[demo] starting the Ordergroove sandbox on {sandbox_url}", flush=True)
        sandbox = start([sys.executable, "-m", "app.sandbox", "--port", str(args.sandbox_port),
                         "--latency-ms", str(args.latency_ms)])
        wait_until_up(f"{sandbox_url}/_sandbox/stats", "the sandbox", sandbox)

        print(f"[demo] starting the lookup API under gunicorn on {api_url}", flush=True)
        api = start([sys.executable, "-m", "gunicorn", "app:create_app()"])
        wait_until_up(f"{api_url}/healthz", "the lookup API", api)

        send_burst(f"{api_url}/gladly/lookup", signing_key, sandbox_url, args.lookups)

        if not args.no_dashboard and not args.exit_after_traffic:
            print(f"[demo] starting the dashboard on http://127.0.0.1:{args.dashboard_port}", flush=True)
            dashboard = start([sys.executable, "-m", "streamlit", "run", "dashboard/streamlit_app.py",
                               "--server.port", str(args.dashboard_port), "--server.address", "127.0.0.1"])
            wait_until_up(f"http://127.0.0.1:{args.dashboard_port}/_stcore/health", "the dashboard", dashboard)

        print("\n[demo] everything is up:")
        print(f"  Ordergroove sandbox  {sandbox_url}   (x-api-key: {SANDBOX_DEFAULT_API_KEY})")
        print(f"  Lookup API           {api_url}/gladly/lookup   health {api_url}/readyz   metrics {api_url}/metrics")
        if not args.no_dashboard and not args.exit_after_traffic:
            print(f"  Dashboard            http://127.0.0.1:{args.dashboard_port}")
        print(f"  Data directory       {args.data_dir}")
        print(f"  Try a signed request (demo key of this run):\n    GLADLY_SIGNING_KEY={signing_key} "
              f"ORDERGROOVE_BASE_URL={sandbox_url} OGTK_DATA_DIR={args.data_dir} "
              f"{sys.executable} -m flask --app app sign-request 7781203344 --url {api_url}/gladly/lookup | sh")
        if args.exit_after_traffic:
            return 0
        print("[demo] Ctrl-C stops everything.", flush=True)
        parent = os.getppid()
        while all(p.poll() is None for p in children):
            if os.getppid() != parent:  # make (or the terminal) went away without a signal to us
                print("[demo] parent process gone; shutting down", flush=True)
                return 0
            time.sleep(0.5)
        print("[demo] a component stopped; shutting down", flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop_all()


def send_burst(lookup_url: str, signing_key: str, sandbox_url: str, size: int) -> None:
    customers = fetch_sandbox_customers(sandbox_url, SANDBOX_DEFAULT_API_KEY)
    emails = collections.Counter(str(c.get("email", "")).strip().lower() for c in customers)
    shared = next((e for e, n in emails.items() if e and n > 1), None)
    plan = demo_plan(customers, shared_email=shared, size=size)
    gladly = GladlyClient(lookup_url, signing_key=signing_key)
    print(f"[demo] sending {len(plan)} simulated Gladly lookups (8 at a time)…", flush=True)
    statuses: collections.Counter = collections.Counter()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        for done, answer in enumerate(pool.map(gladly.lookup, plan), start=1):
            statuses[answer.status] += 1
            if done % 100 == 0 or done == len(plan):
                print(f"[demo]   {done}/{len(plan)} answered", flush=True)
    took = time.perf_counter() - started
    print(f"[demo] burst done in {took:.1f}s; answers by status: {dict(sorted(statuses.items()))}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
