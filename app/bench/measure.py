"""The individual measurements of ``make bench``: warm and cold lookups, upstream calls, link health.

Each function measures one thing and returns plain numbers; :mod:`app.bench.__main__` runs them
in order against one sandbox and :mod:`app.bench.report` turns them into the table.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import requests

from ..gladly.schema import encode_body, lookup_body
from ..gladly.signing import sign_headers
from .stats import median, summarize_ms

LOOKUP_PATH = "/gladly/lookup"


def detailed_payload(customer_id: str, gladly_id: str = "bench-gladly-profile") -> dict:
    return lookup_body("DETAILED", gladly_id=gladly_id, external_customer_id=customer_id)


def signed_request(key: str, payload: dict | bytes, *, now: float | None = None,
                   content_type: str = "application/json", path: str = LOOKUP_PATH) -> tuple[bytes, dict]:
    """Body bytes and Gladly headers (signature included) for one lookup."""
    body = payload if isinstance(payload, bytes) else encode_body(payload)
    headers = sign_headers(key, method="POST", path=path, body=body,
                           headers={"Accept": "application/json", "Content-Type": content_type}, now=now)
    return body, headers


class KeepAliveClient:
    """POSTs one pre-signed lookup over a single kept-alive ``http.client`` connection.

    For timing one request at a time through gunicorn, as Gladly's client would send it: a
    ``requests.post`` spent about 3 ms of its own per call here (a session, the environment's
    proxy and netrc settings, header parsing), which a cold row through gunicorn then counted as
    the server's. The body is signed once (the bench's replay window is a day), like wrk's.

    >>> with KeepAliveClient(api.lookup_url, key, payload) as client:  # doctest: +SKIP
    ...     client.post()
    200
    """

    def __init__(self, url: str, key: str, payload: dict, *, timeout_s: float = 30.0):
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self._path = parts.path or "/"
        self._body, headers = signed_request(key, payload)
        self._headers = {**headers, "Content-Length": str(len(self._body))}
        self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)

    def post(self) -> int:
        """Send the lookup and read the whole answer; its status."""
        self._connection.request("POST", self._path, body=self._body, headers=self._headers)
        response = self._connection.getresponse()
        response.read()
        if response.will_close:
            self._connection.close()  # reconnects on the next request
        return response.status

    def answer(self) -> tuple[int, Callable[[], None]]:
        """:meth:`post`, and a call that returns once the worker has finished with it."""
        return self.post(), self.wait_for_worker

    def wait_for_worker(self) -> None:
        """Returns once the worker that answered is done with that request, cache writes
        included (they run after the answer is sent): gunicorn reads the next request of a
        kept-alive connection only then, so a ``/healthz`` on it answers after them."""
        self._connection.request("GET", "/healthz")
        self._connection.getresponse().read()

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> "KeepAliveClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def upstream_delta(before: dict, after: dict) -> int:
    return int(after.get("requests", 0)) - int(before.get("requests", 0))


# --- in process ---------------------------------------------------------------------------------

@dataclass
class InProcess:
    """A Flask test client over ``create_app`` that sends signed lookups.

    >>> bench = InProcess(app, key="k")
    >>> bench.lookup(detailed_payload("7781203344")).status_code
    """

    app: Any
    key: str

    def __post_init__(self) -> None:
        self.client = self.app.test_client()

    def lookup(self, payload: dict):
        """One signed lookup as a WSGI server serves it: the answer read, then the response
        closed, which runs what waits until the answer is sent (the cache writes)."""
        response = self._answered(payload)
        response.close()
        return response

    def answer(self, payload: dict) -> tuple[int, Callable[[], None]]:
        """The lookup's status once its answer is read, and the close still to call (for timing
        what Gladly waits for: the answer, not the cache writes after it)."""
        response = self._answered(payload)
        return response.status_code, response.close

    def _answered(self, payload: dict):
        body, headers = signed_request(self.key, payload)
        response = self.client.post(LOOKUP_PATH, data=body, headers=headers)
        response.get_data()
        return response

    def presign(self, payload: dict, n: int) -> list[tuple[bytes, dict]]:
        return [signed_request(self.key, payload) for _ in range(n)]

    def send_all(self, prepared: list[tuple[bytes, dict]]) -> int:
        """Send pre-signed lookups (nothing but the API in the loop: for the profiler); returns non-200s."""
        bad = 0
        for body, headers in prepared:
            response = self.client.post(LOOKUP_PATH, data=body, headers=headers)
            bad += response.status_code != 200
            response.close()
        return bad

    def timed(self, payload: dict, n: int, *, expect: int = 200) -> list[float]:
        """Seconds per lookup for ``n`` lookups; signing happens outside the timed part."""
        seconds: list[float] = []
        bad = 0
        for _ in range(n):
            body, headers = signed_request(self.key, payload)
            started = time.perf_counter()
            response = self.client.post(LOOKUP_PATH, data=body, headers=headers)
            response.get_data()
            seconds.append(time.perf_counter() - started)
            response.close()  # sent: what waits for that runs now, outside the timed part
            bad += response.status_code != expect
        if bad:
            raise RuntimeError(f"{bad} of {n} in-process lookups did not answer {expect}")
        return seconds


def _set_process_cpus(pid: int, cpus: set[int]) -> None:
    """Every thread of ``pid`` (``sched_setaffinity`` of a pid moves only that one thread; the
    sandbox's handler threads started later inherit the mask of its accepting thread)."""
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(task), cpus)
        except (ProcessLookupError, FileNotFoundError):  # a handler thread that just ended
            pass


@contextmanager
def sandbox_apart(pid: int, fetch_cpu: int | None) -> Iterator[set[int] | None]:
    """Keep the sandbox (process ``pid``) off the CPU the API's fetch threads run on, for the
    in-process cold rows; yields the CPUs it was given, or ``None`` when it could not be done.

    The sandbox stands in for a remote Ordergroove, yet it runs on this machine: werkzeug and
    Flask cost it 0.6–0.7 ms of CPU per request (measured hot), a round's requests arrive
    together, and on 2 cores it shared the one CPU the API's fetch threads are held to
    (:mod:`app.ordergroove.affinity`), which a remote service does not do. Measured alternately
    (four rounds of 15), catalogue cached took 2.09 round trips apart and 2.11 sharing."""
    if fetch_cpu is None or not hasattr(os, "sched_setaffinity"):
        yield None
        return
    allowed = os.sched_getaffinity(0)
    others: set[int] | None = allowed - {fetch_cpu}
    try:
        if others:
            _set_process_cpus(pid, others)
    except OSError:  # refused: whatever moved goes back below, and the rows run as they are
        others = None
    try:
        yield others or None
    finally:
        try:
            _set_process_cpus(pid, allowed)
        except OSError:
            pass


def upstream_rtt_ms(base_url: str, api_key: str, customer_id: str, n: int = 15) -> float:
    """Median time of one direct sandbox request (injected latency plus loopback HTTP)."""
    session = requests.Session()
    url = f"{base_url}/customers/{customer_id}/"
    times = []
    for _ in range(n):
        started = time.perf_counter()
        session.get(url, headers={"x-api-key": api_key}, timeout=10).raise_for_status()
        times.append(time.perf_counter() - started)
    return median(times) * 1000


def warm_latency(bench: InProcess, payload: dict, n: int) -> dict[str, float]:
    return summarize_ms(bench.timed(payload, n))


# --- link health over a large event store -------------------------------------------------------

def _events_fingerprint() -> str:
    """Changes when the event schema or the synthetic generator changes (the cached DB is rebuilt)."""
    from .. import events

    digest = hashlib.sha256()
    for name in ("store.py", "schema.py", "synthetic.py", "model.py"):
        path = Path(events.__file__).with_name(name)
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def link_health(cache_dir: Path, n: int, *, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Seed (or reuse) an ``n``-event store under ``cache_dir`` and time every link-health query."""
    from ..events import EventStore, measure_queries, seed_synthetic_events

    cache_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = _events_fingerprint()
    db = cache_dir / f"events-{n}.sqlite3"
    meta_path = db.with_suffix(".json")
    meta: dict[str, Any] = {}
    if db.exists() and meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError:
            meta = {}
    seeded_s = None
    if meta.get("fingerprint") != fingerprint or meta.get("n") != n:
        for stale in cache_dir.glob(f"events-{n}.sqlite3*"):
            stale.unlink()
        say(f"seeding {n:,} synthetic events into {db} (cached for the next runs) …")
        now = datetime.now(timezone.utc)
        store = EventStore(db)
        started = time.perf_counter()
        seed_synthetic_events(store, n, seed=0, now=now)
        seeded_s = time.perf_counter() - started
        store.close()
        meta = {"fingerprint": fingerprint, "n": n, "now": now.isoformat(), "seed_seconds": seeded_s}
        meta_path.write_text(json.dumps(meta))
    else:
        say(f"reusing the seeded event store {db}")
    now = datetime.fromisoformat(meta["now"])
    store = EventStore(db)
    try:
        count = store.count()
        first = measure_queries(store, now=now)  # cold-ish: right after opening the file
        timings = measure_queries(store, now=now)  # as a running dashboard sees them
    finally:
        store.close()
    return {"events": count, "queries_s": timings, "first_pass_s": first, "seed_s": seeded_s or meta.get("seed_seconds"),
            "db_bytes": db.stat().st_size}


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def machine() -> dict[str, str]:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import platform

    return {"nproc": str(os.cpu_count() or "?"), "cpu": model, "python": platform.python_version(),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
