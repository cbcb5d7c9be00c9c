"""``python -m app.events --n 1000000``: seed a scratch event database and time every query.

``--path`` keeps the database (and reuses it: ``--n 0`` only times the queries).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from .store import EventStore
from .synthetic import measure_queries, seed_synthetic_events


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m app.events",
        description="Seed synthetic lookup events and time the link-health queries.")
    parser.add_argument("--n", type=int, default=1_000_000, help="events to add (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--path", type=Path, default=None, help="database file (default: a temp dir)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        store = EventStore(args.path or Path(scratch) / "events.sqlite3")
        if args.n > 0:
            began = time.perf_counter()
            seed_synthetic_events(store, args.n, seed=args.seed)
            print(f"seeded {args.n:,} events in {time.perf_counter() - began:.2f} s")
        print(f"timing the link-health queries over the last 30 days of {store.count():,} events")
        for name, seconds in measure_queries(store).items():
            print(f"  {name:<26} {seconds * 1000:8.1f} ms")
        store.close()


if __name__ == "__main__":
    main()
