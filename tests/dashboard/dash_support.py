"""Helpers shared by the dashboard tests: the seeded event mix and its known numbers.

(A plain module, not ``conftest``: a bare ``from conftest import`` would be ambiguous with
``tests/conftest.py``.)
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

from streamlit.testing.v1 import AppTest

from app.events import EventStore, LookupEvent
from app.sandbox import KNOWN

ENTRYPOINT = Path(__file__).resolve().parents[2] / "dashboard" / "streamlit_app.py"

#: the unmatched identifiers the seeded store holds, with how often each was asked
UNMATCHED_IDS = {"ext-404-alpha": 7, "ext-404-beta": 3, KNOWN["reference"]: 2}
UNMATCHED_EMAIL = "missing.person@example.com"  # stored masked as m***@example.com
UNMATCHED_EMAIL_COUNT = 4
MATCHED, AMBIGUOUS, ERRORS = 240, 9, 5
EMAIL_ONLY = ("nora.one@example.net", "nick.two@example.net")  # both mask to n***@example.net
SUGGESTED_FOR, SUGGESTION = "ext-404-alpha", KNOWN["reference"]  # its profile's email is Dana's


def seed_events(store: EventStore, now: datetime | None = None) -> int:
    """A few hundred events over the last 20 hours with known unmatched identifiers and counts."""
    now = now or datetime.now(timezone.utc)
    events = []
    step = 0

    def at() -> datetime:
        nonlocal step
        step += 1
        return now - timedelta(minutes=(step * 7) % (20 * 60) + 1)

    for i in range(MATCHED):
        level = "BASIC" if i % 3 else "DETAILED"
        events.append(LookupEvent.create(level=level, outcome="matched", ts=at(),
                                         gladly_customer_id=f"g-matched-{i % 60}",
                                         external_customer_id=f"cust-{i % 60}",
                                         matched_customer_id=f"cust-{i % 60}",
                                         duration_ms=20 + i % 150, upstream_calls=i % 3, cache_hits=2))
    for identifier, count in UNMATCHED_IDS.items():
        for i in range(count):
            events.append(LookupEvent.create(level="DETAILED", outcome="unmatched", ts=at(),
                                             gladly_customer_id=f"g-{identifier}",
                                             external_customer_id=identifier, duration_ms=45))
    for i in range(UNMATCHED_EMAIL_COUNT):
        events.append(LookupEvent.create(level="BASIC", outcome="unmatched", ts=at(),
                                         gladly_customer_id="g-missing-person",
                                         raw_emails=[UNMATCHED_EMAIL], duration_ms=30))
    for email in EMAIL_ONLY:  # no Gladly id, emails that mask alike: counted apart by their hash
        events.append(LookupEvent.create(level="BASIC", outcome="unmatched", ts=at(), raw_emails=[email],
                                         hasher=store.hasher, duration_ms=25))
    for i in range(AMBIGUOUS):
        events.append(LookupEvent.create(level="BASIC", outcome="ambiguous", ts=at(),
                                         raw_emails=[KNOWN["shared_email"]], duration_ms=60))
    for i in range(ERRORS):
        events.append(LookupEvent.create(level="DETAILED", outcome="error", ts=at(),
                                         external_customer_id=f"cust-{i}", duration_ms=4000,
                                         error_code="ordergroove_timeout", correlation_id=f"corr-{i}"))
    assert all(store.record(event) for event in events)
    suggested = next(e for e in events if e.external_customer_id == SUGGESTED_FOR)
    assert store.record_suggestion(suggested.uid, [SUGGESTION])
    return len(events)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def shown(markdown: str) -> str:
    """What a reader sees of escaped markdown text (backslash escapes resolved, zero-width spaces
    dropped)."""
    return _ESCAPED.sub(r"\1", markdown).replace("\u200b", "")


def everything_shown(at: AppTest) -> str:
    """Every value, label and option of every element on the page and in the sidebar, as text."""
    parts: list[str] = []

    def walk(node) -> None:
        for attribute in ("value", "label", "options", "body", "placeholder"):
            try:
                found = getattr(node, attribute, None)
            except Exception:  # noqa: BLE001 - some elements compute values lazily
                continue
            if found is not None and not callable(found):
                parts.append(str(found))
        children = getattr(node, "children", None)
        for child in (children.values() if isinstance(children, dict) else children or ()):
            walk(child)

    walk(at._tree)
    return shown("\n".join(parts))


def write_worker_metrics(directory: Path) -> None:
    """What two gunicorn workers leave behind: multiprocess sample files (written by a child)."""
    directory.mkdir(parents=True, exist_ok=True)
    script = textwrap.dedent("""
        from app import metrics
        metrics.UPSTREAM_REQUESTS.labels(endpoint="customer", status="200").inc(40)
        metrics.UPSTREAM_REQUESTS.labels(endpoint="customer", status="429").inc(3)
        metrics.UPSTREAM_REQUESTS.labels(endpoint="subscriptions", status="200").inc(20)
        metrics.UPSTREAM_REQUESTS.labels(endpoint="subscriptions", status="503").inc(2)
        metrics.UPSTREAM_REQUESTS.labels(endpoint="subscriptions", status="timeout").inc(1)
        for _ in range(4):
            metrics.UPSTREAM_SECONDS.labels(endpoint="customer").observe(0.05)
        metrics.CACHE_HITS.labels(kind="customer").inc(30)
        metrics.CACHE_MISSES.labels(kind="customer").inc(10)
    """)
    for _ in range(2):
        subprocess.run([sys.executable, "-c", script], cwd=ENTRYPOINT.parents[1], check=True,
                       env={"PROMETHEUS_MULTIPROC_DIR": str(directory), "PATH": "/usr/bin:/bin"})


def tiny_png(size: int = 8, rgb: tuple[int, int, int] = (15, 107, 107)) -> bytes:
    """A valid ``size``×``size`` one-colour PNG."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


class ImageServer:
    """A loopback HTTP server with one picture and the ways a picture URL goes wrong.

    >>> with ImageServer() as images: images.url("/ok.png")
    """

    ROUTES = {
        "/ok.png": (200, "image/png", tiny_png()),
        "/lying.png": (200, "image/png", b"<html>not a picture</html>"),
        "/big.png": (200, "image/png", tiny_png()[:16] + b"\0" * (3 * 1024 * 1024)),
        "/vector.svg": (200, "image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>"),
    }
    REDIRECTS = {"/moved.png": "/ok.png", "/to-private.png": "http://10.255.255.1/x.png",
                 "/loop.png": "/loop.png"}

    def __enter__(self) -> "ImageServer":
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        routes, redirects, hits = self.ROUTES, self.REDIRECTS, []
        self.hits = hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                hits.append(self.path)
                if self.path in redirects:
                    self.send_response(302)
                    self.send_header("Location", redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status, kind, body = routes.get(self.path, (404, "text/plain", b"missing"))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_port}{path}"

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def open_page(at: AppTest, page: str) -> AppTest:
    """Run the entrypoint once, then switch to ``page`` (a path under dashboard/) and run it."""
    at.run()
    at.switch_page(page).run()
    assert_clean(at)
    return at
