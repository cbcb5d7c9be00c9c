"""``make run``: the whole toolkit on one machine, no Ordergroove account needed.

Seeds 30 days of synthetic history (marked so; only into the demo's own data directory), starts
the Ordergroove sandbox, the lookup API under gunicorn against it, sends a burst of simulated
signed Gladly lookups so the event store has realistic content, then starts the dashboard, prints
where everything listens, and keeps running until Ctrl-C (which stops all).
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .processes import ROOT, ApiProcess, ManagedProcess, SandboxProcess, clean_env
from .settings import SANDBOX_DEFAULT_API_KEY
from .sandbox import KNOWN
from .simulate import GladlyClient, demo_plan, fetch_sandbox_customers, new_signing_key, send_actions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sandbox-port", type=int, default=8700)
    parser.add_argument("--api-port", type=int, default=8000)
    parser.add_argument("--dashboard-port", type=int, default=8501)
    parser.add_argument("--lookups", type=int, default=400, help="size of the simulated Gladly burst")
    parser.add_argument("--latency-ms", type=int, default=40, help="sandbox latency per request")
    parser.add_argument("--data-dir", default=str(ROOT / "var" / "demo"))
    parser.add_argument("--history", type=int, default=DEMO_HISTORY_EVENTS,
                        help="synthetic lookup events seeded over the last 30 days (0: none)")
    parser.add_argument("--no-dashboard", action="store_true")
    parser.add_argument("--exit-after-traffic", action="store_true", help="stop everything after the burst")
    args = parser.parse_args(argv)

    dashboard_url = f"http://127.0.0.1:{args.dashboard_port}"
    with_dashboard = not args.no_dashboard and not args.exit_after_traffic
    signing_key = os.environ.get("GLADLY_SIGNING_KEY") or new_signing_key()
    webhook_key = new_signing_key()  # shared by the sandbox (signs) and the API (verifies)
    api_base = f"http://127.0.0.1:{args.api_port}"
    sandbox = SandboxProcess(log_path=None, latency_ms=args.latency_ms, port=args.sandbox_port,
                             webhook_url=f"{api_base}/ordergroove/webhook", webhook_key=webhook_key)
    api = ApiProcess(sandbox_url=sandbox.base_url, data_dir=Path(args.data_dir), signing_key=signing_key,
                     log_path=None, port=args.api_port,
                     env={"OGTK_LOG_LEVEL": "info", "OGTK_ACTIONS": "cancel,skip",
                          "ORDERGROOVE_WEBHOOK_KEY": webhook_key})
    dashboard = ManagedProcess(
        [sys.executable, "-m", "streamlit", "run", "dashboard/streamlit_app.py", "--server.port",
         str(args.dashboard_port), "--server.address", "127.0.0.1"], log_path=None, name="the dashboard",
        env=clean_env({"ORDERGROOVE_BASE_URL": sandbox.base_url, "ORDERGROOVE_API_KEY": sandbox.api_key,
                       "OGTK_DATA_DIR": args.data_dir,
                       "OGTK_ACTIONS": "cancel,skip"}))  # the card preview shows the buttons the API declares
    children = [sandbox, api] + ([dashboard] if with_dashboard else [])
    sandbox_url, api_url = sandbox.base_url, api.base_url

    def stop_all(*_: object) -> None:
        for child in reversed(children):
            child.stop()

    signal.signal(signal.SIGTERM, lambda *_: (stop_all(), sys.exit(0)))
    try:
        print(f"[demo] {seed_demo_history(Path(args.data_dir), args.history)}", flush=True)
        for process in (sandbox, api):  # each start() waits until it answers
            print(f"[demo] starting {process.name} on {process.base_url}", flush=True)
            process.start()
        send_burst(api.lookup_url, signing_key, sandbox_url, args.lookups)  # so the dashboard opens on data
        if with_dashboard:
            print(f"[demo] starting the dashboard on {dashboard_url}", flush=True)
            dashboard.start().wait_http(f"{dashboard_url}/_stcore/health")

        print("\n[demo] everything is up:")
        print(f"  Ordergroove sandbox  {sandbox_url}   (x-api-key: {sandbox.api_key})")
        print(f"  Lookup API           {api_url}/gladly/lookup   health {api_url}/readyz   metrics {api_url}/metrics")
        if with_dashboard:
            print(f"  Dashboard            {dashboard_url}")
        print(f"  Data directory       {args.data_dir}   (demo only: holds labeled synthetic history)")
        print(f"  Webhooks             sandbox -> {api_url}/ordergroove/webhook; try an admin edit in Ordergroove:\n"
              f"    curl -s {sandbox_url}/_sandbox/mutate -H 'Content-Type: application/json' -d "
              f"'{{\"action\":\"cancel\",\"subscription\":\"{KNOWN['reference_active_subscription']}\"}}'\n"
              f"    then open customer {KNOWN['reference']} in the dashboard")
        print(f"  Try a signed request (demo key of this run):\n    GLADLY_SIGNING_KEY={signing_key} "
              f"ORDERGROOVE_BASE_URL={sandbox_url} OGTK_DATA_DIR={args.data_dir} "
              f"{sys.executable} -m flask --app app sign-request 7781203344 --url {api_url}/gladly/lookup | sh")
        if args.exit_after_traffic:
            return 0
        print("[demo] Ctrl-C stops everything.", flush=True)
        parent = os.getppid()
        while all(child.alive() for child in children):
            if os.getppid() != parent:  # make (or the terminal) went away without a signal to us
                print("[demo] parent process gone; shutting down", flush=True)
                return 0
            time.sleep(0.5)
        print("[demo] a component stopped; shutting down", flush=True)
        return 1
    except RuntimeError as exc:  # a component did not come up: say which, with its output above
        print(f"[demo] {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop_all()


DEMO_HISTORY_EVENTS = 20_000


def seed_demo_history(data_dir: Path, n: int, *, days: int = 30) -> str:
    """Seed ``n`` synthetic lookup events (and actions, webhooks) over ``days`` into ``data_dir``'s
    event store, marked synthetic for the dashboard; returns what it did.

    Never into a real data directory: refused when ``data_dir`` is the real default (``./var``),
    the ``OGTK_DATA_DIR`` of this environment, or holds events not marked synthetic; done once per
    directory (a marked store is left as it is).
    """
    from .events import EventStore, seed_synthetic_events

    target = data_dir.resolve()
    real = {(ROOT / "var").resolve()} | ({Path(os.environ["OGTK_DATA_DIR"]).resolve()}
                                         if os.environ.get("OGTK_DATA_DIR") else set())
    if n <= 0:
        return "no synthetic history asked for"
    if target in real:
        return f"synthetic history NOT seeded: {target} is a real data directory (use the demo's own)"
    with EventStore(target / "events.sqlite3") as store:
        if store.is_synthetic():
            return f"synthetic history already in {target} (labeled as such in the dashboard)"
        if store.count():
            return f"synthetic history NOT seeded: {target} holds real events"
        seeded = seed_synthetic_events(store, n, days=days)
    return f"seeded {seeded} synthetic lookup events over {days} days into {target} (labeled synthetic)"


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
    # a few agents press action buttons too, on background customers (not the documented ones)
    fixtures = {str(v) for v in KNOWN.values() if isinstance(v, str)}
    ids = [str(c["merchant_user_id"]) for c in customers if str(c.get("merchant_user_id")) not in fixtures]
    cards, actions = send_actions(gladly, ids[len(ids) // 2:])
    by_status = collections.Counter(a.status for a in actions)
    print(f"[demo] {len(actions)} action forms and submits after {cards} card lookups; "
          f"answers by status: {dict(sorted(by_status.items()))}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
