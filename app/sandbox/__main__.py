"""``python -m app.sandbox``: serve the Ordergroove sandbox until Ctrl-C (or SIGTERM).

Every flag can also come from the environment as ``OGTK_SANDBOX_<FLAG>`` (``--latency-ms`` is
``OGTK_SANDBOX_LATENCY_MS``); a flag on the command line wins over the environment.

    python -m app.sandbox --port 8700 --latency-ms 80 --error-rate 0.02
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any, Callable, Mapping, Sequence

from app.settings import SANDBOX_DEFAULT_API_KEY

from .records import DEFAULT_CUSTOMERS, DEFAULT_SEED
from .server import SandboxServer

# (flag, type, default, help)
_FLAGS: list[tuple[str, Callable[[str], Any], Any, str]] = [
    ("host", str, "127.0.0.1", "address to bind"),
    ("port", int, 8700, "port to bind (0 picks a free one)"),
    ("latency-ms", float, 0.0, "added latency per request, in milliseconds"),
    ("error-rate", float, 0.0, "share of requests answered 500 or 503"),
    ("rate-limit-rate", float, 0.0, "share of requests answered 429"),
    ("hang-rate", float, 0.0, "share of requests that hang"),
    ("hang-s", float, 60.0, "how long a hanging request hangs, in seconds"),
    ("retry-after", float, None, "send Retry-After: S on 429s (Ordergroove documents none)"),
    ("hang-mode", str, "mixed", "after a hang: 504, close (drop the connection) or mixed"),
    ("trickle-rate", float, 0.0, "share of answers whose body trickles out over --trickle-s"),
    ("trickle-s", float, 5.0, "how long a trickled body takes, in seconds"),
    ("webhook-url", str, None, "send signed Ordergroove webhooks for every change to this URL"),
    ("webhook-key", str, None, "the webhook verification key(s), comma-separated (one sig per key)"),
    ("webhook-duplicate-rate", float, 0.0, "share of webhooks delivered twice, as Ordergroove may"),
    ("webhook-reorder-rate", float, 0.0, "share of webhooks held back behind the next one"),
    ("seed", int, DEFAULT_SEED, "seed of the generated data set and of the fault draws"),
    ("api-key", str, SANDBOX_DEFAULT_API_KEY, "the x-api-key the sandbox accepts"),
    ("customers", int, DEFAULT_CUSTOMERS, "number of customers (fixtures included)"),
]


def env_name(flag: str) -> str:
    return "OGTK_SANDBOX_" + flag.upper().replace("-", "_")


def build_parser(env: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(prog="python -m app.sandbox", description=__doc__.splitlines()[0])
    for flag, kind, default, text in _FLAGS:
        raw = env.get(env_name(flag))
        if raw not in (None, ""):
            try:
                default = kind(raw)
            except ValueError:
                parser.error(f"{env_name(flag)}={raw!r} is not a valid {kind.__name__}")
        parser.add_argument(f"--{flag}", type=kind, default=default,
                            help=f"{text} (env {env_name(flag)}; default {default})")
    return parser


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        server = SandboxServer(
            host=args.host, port=args.port, latency_ms=args.latency_ms, error_rate=args.error_rate,
            rate_limit_rate=args.rate_limit_rate, hang_rate=args.hang_rate, hang_s=args.hang_s,
            retry_after=args.retry_after, hang_mode=args.hang_mode, trickle_rate=args.trickle_rate,
            trickle_s=args.trickle_s, webhook_url=args.webhook_url, webhook_key=args.webhook_key,
            webhook_duplicate_rate=args.webhook_duplicate_rate, webhook_reorder_rate=args.webhook_reorder_rate,
            seed=args.seed, api_key=args.api_key,
            customers=args.customers)
    except ValueError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    # A new connection's handler thread holds the GIL through its parsing and routing until it
    # sleeps out its latency; with the default 5 ms switch interval the accepting thread waits
    # behind each one, so parallel requests arrived one after another. Ordergroove takes
    # parallel requests in parallel: switch threads often (this process only serves).
    sys.setswitchinterval(0.0005)
    try:
        server.start()
    except OSError as exc:
        print(f"sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(f"Ordergroove sandbox at {server.base_url} (x-api-key: {server.api_key}; "
          f"{server.faults.describe()}; {len(server.dataset.customers)} customers, seed {args.seed}"
          + (f"; webhooks to {server.webhooks.url}" if server.webhooks else "") + ")", flush=True)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
