"""``make run-cluster``: two lookup API instances sharing Redis and PostgreSQL, on one machine.

Starts the Ordergroove sandbox, a local ``redis-server`` and a throwaway PostgreSQL cluster, two
gunicorn instances on two ports with their own data directories but one ``OGTK_CACHE_URL`` and
one ``OGTK_EVENTS_URL``, sends a simulated Gladly burst that alternates between the two as a
load balancer would, shows that both instances' events reached PostgreSQL, then starts the
dashboard on the same event database. Ctrl-C stops everything. A missing server is named, with
the Debian package that provides it.
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

from ..events.postgres import PostgresEventStore
from ..processes import ROOT, ApiProcess, ManagedProcess, SandboxProcess, clean_env
from ..settings import SANDBOX_DEFAULT_API_KEY
from ..simulate import GladlyClient, demo_plan, fetch_sandbox_customers, new_signing_key
from .servers import PostgresServer, RedisServer, ServerUnavailable


#: how long the instances get to write the burst's events (they batch them in the background)
EVENTS_WAIT_S = 30.0


def shared_env(redis: RedisServer, postgres: PostgresServer) -> dict[str, str]:
    """What every instance and the dashboard share: the cache and the events; actions on, as in
    ``make run``."""
    return {"OGTK_CACHE_URL": redis.url(), "OGTK_EVENTS_URL": postgres.url, "OGTK_ACTIONS": "cancel,skip"}


def stored_lookup_events(url: str, expected: int, timeout_s: float = EVENTS_WAIT_S) -> int:
    """Lookup events in PostgreSQL once ``expected`` are there (or ``timeout_s`` passed)."""
    with PostgresEventStore(url) as store:
        deadline = time.monotonic() + timeout_s
        while (count := store.count()) < expected and time.monotonic() < deadline:
            time.sleep(0.2)
        return count


def alternating_burst(lookup_urls: list[str], signing_key: str, sandbox_url: str, size: int) -> dict:
    """The demo's lookup mix, request *n* sent to instance ``n % len(lookup_urls)``; answers by
    instance and status."""
    customers = fetch_sandbox_customers(sandbox_url, SANDBOX_DEFAULT_API_KEY)
    plan = demo_plan(customers, shared_email=None, size=size)
    gladlies = [GladlyClient(url, signing_key=signing_key) for url in lookup_urls]
    tally: collections.Counter = collections.Counter()

    def send(numbered: tuple[int, dict]) -> tuple[int, int]:
        n, payload = numbered
        return n % len(gladlies), gladlies[n % len(gladlies)].lookup(payload).status

    print(f"[cluster] sending {len(plan)} simulated Gladly lookups, alternating between "
          f"{len(lookup_urls)} instances…", flush=True)
    with ThreadPoolExecutor(max_workers=8) as pool:
        for instance, status in pool.map(send, enumerate(plan)):
            tally[(instance, status)] += 1
    return dict(sorted(tally.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sandbox-port", type=int, default=8700)
    parser.add_argument("--api-ports", type=int, nargs=2, default=[8001, 8002])
    parser.add_argument("--dashboard-port", type=int, default=8501)
    parser.add_argument("--lookups", type=int, default=400, help="size of the simulated Gladly burst")
    parser.add_argument("--latency-ms", type=int, default=40, help="sandbox latency per request")
    parser.add_argument("--data-dir", default=str(ROOT / "var" / "cluster"))
    parser.add_argument("--no-dashboard", action="store_true")
    parser.add_argument("--exit-after-traffic", action="store_true", help="stop everything after the burst")
    args = parser.parse_args(argv)

    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        redis = RedisServer(data_dir / "redis")
        postgres = PostgresServer()
    except ServerUnavailable as exc:
        print(f"[cluster] {exc}", file=sys.stderr)
        print("[cluster] make run-cluster needs a local redis-server (shared cache) and PostgreSQL "
              "(initdb/pg_ctl, for the events); on Debian/Ubuntu: sudo apt-get install redis-server "
              "postgresql", file=sys.stderr)
        return 1

    signing_key = os.environ.get("GLADLY_SIGNING_KEY") or new_signing_key()
    sandbox = SandboxProcess(log_path=None, latency_ms=args.latency_ms, port=args.sandbox_port)
    shared = shared_env(redis, postgres)
    apis = [ApiProcess(sandbox_url=sandbox.base_url, data_dir=data_dir / name, signing_key=signing_key,
                       log_path=data_dir / f"api-{name}.log", port=port, env=shared)
            for name, port in zip("ab", args.api_ports)]
    dashboard_url = f"http://127.0.0.1:{args.dashboard_port}"
    with_dashboard = not args.no_dashboard and not args.exit_after_traffic
    dashboard = ManagedProcess(
        [sys.executable, "-m", "streamlit", "run", "dashboard/streamlit_app.py", "--server.port",
         str(args.dashboard_port), "--server.address", "127.0.0.1"], log_path=None, name="the dashboard",
        env=clean_env({"ORDERGROOVE_BASE_URL": sandbox.base_url, "ORDERGROOVE_API_KEY": sandbox.api_key,
                       "OGTK_DATA_DIR": str(data_dir / "a"), **shared}))
    servers = [redis, postgres]
    children = [sandbox, *apis] + ([dashboard] if with_dashboard else [])

    def stop_all(*_: object) -> None:
        for child in reversed(children):
            child.stop()
        for server in reversed(servers):
            server.stop()

    signal.signal(signal.SIGTERM, lambda *_: (stop_all(), sys.exit(0)))
    # Ctrl-C stops everything even when started from a script's background job, which starts
    # its children with SIGINT ignored (Python then leaves it ignored, and Ctrl-C did nothing)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        for server in servers:
            print(f"[cluster] starting {type(server).__name__} on port {server.port}", flush=True)
            server.start()
        for process in (sandbox, *apis):
            print(f"[cluster] starting {process.name} on {process.base_url}", flush=True)
            process.start()
        tally = alternating_burst([api.lookup_url for api in apis], signing_key, sandbox.base_url, args.lookups)
        print(f"[cluster] burst answered, by (instance, status): {tally}", flush=True)
        print(f"[cluster] upstream requests for the whole burst: {sandbox.stats().get('requests')}", flush=True)
        answered = sum(tally.values())
        print(f"[cluster] lookup events in PostgreSQL, both instances': "
              f"{stored_lookup_events(postgres.url, answered)} of {answered} lookups", flush=True)
        if with_dashboard:
            print(f"[cluster] starting the dashboard on {dashboard_url}", flush=True)
            dashboard.start().wait_http(f"{dashboard_url}/_stcore/health")

        print("\n[cluster] everything is up:")
        print(f"  Ordergroove sandbox  {sandbox.base_url}")
        print(f"  Redis (shared cache) {redis.url()}")
        print(f"  PostgreSQL (events)  {postgres.url}")
        for name, api in zip("ab", apis):
            print(f"  Lookup API {name}         {api.lookup_url}   health {api.base_url}/readyz   "
                  f"log {api.log_path}")
        if with_dashboard:
            print(f"  Dashboard            {dashboard_url}")
        if args.exit_after_traffic:
            return 0
        print("[cluster] Ctrl-C stops everything.", flush=True)
        parent = os.getppid()
        while all(child.alive() for child in children) and redis.running():
            if os.getppid() != parent:
                print("[cluster] parent process gone; shutting down", flush=True)
                return 0
            time.sleep(0.5)
        print("[cluster] a component stopped; shutting down", flush=True)
        return 1
    except (RuntimeError, ServerUnavailable) as exc:
        print(f"[cluster] {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
