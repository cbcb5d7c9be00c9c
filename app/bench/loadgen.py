"""Load generation: ``wrk`` with a pre-signed lookup for throughput, a thread pool for checked traffic.

Throughput and over-the-wire percentiles come from ``wrk`` (a C load generator; Debian package
``wrk``), driven by a generated Lua script that sends one pre-signed Gladly lookup and prints its
summary as JSON. When ``wrk`` is missing (and cannot be installed), :func:`python_load` is a
clearly labelled fallback. :func:`drive` sends a list of requests from N threads and keeps every
answer, for the resilience scenarios that must check each status and body.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

import requests

from .stats import percentile

_MARK = "OGTK_WRK_JSON "

_LUA_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p95":%d,"p99":%d,"p999":%d}}\n',
    "MARK", summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency:percentile(99.9)))
end
"""


@dataclass
class LoadResult:
    """What one load run measured (latencies in milliseconds)."""

    tool: str
    connections: int
    seconds: float
    requests: int
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    extra: dict = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def ensure_wrk(*, install: bool = True, say: Callable[[str], None] = print) -> str | None:
    """Path of ``wrk``; installs the Debian package when missing and running as root, else ``None``."""
    found = shutil.which("wrk")
    if found or not install:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        say("wrk is not installed (apt-get install wrk); using the slower Python load generator")
        return None
    say("wrk is missing: installing it with apt-get install -y wrk …")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "install", "-y", "-q", "wrk"], ["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "wrk"]):
        try:
            subprocess.run(command, env=env, capture_output=True, timeout=240, check=False)
        except (OSError, subprocess.TimeoutExpired):
            break
        if shutil.which("wrk"):
            return shutil.which("wrk")
    say("could not install wrk; using the slower Python load generator")
    return None


def _lua_string(text: str) -> str:
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def wrk_script(method: str, body: bytes, headers: Mapping[str, str]) -> str:
    """A wrk Lua script sending one fixed request and printing its summary as one JSON line."""
    lines = [f"wrk.method = {_lua_string(method)}", f"wrk.body = {_lua_string(body.decode('utf-8'))}"]
    for name, value in headers.items():
        lines.append(f"wrk.headers[ {_lua_string(name)} ] = {_lua_string(str(value))}")
    return "\n".join(lines) + "\n" + _LUA_DONE.replace('"MARK"', _lua_string(_MARK))


def parse_wrk_output(stdout: str, *, connections: int) -> LoadResult:
    """The :class:`LoadResult` of a wrk run that used :func:`wrk_script`."""
    for line in stdout.splitlines():
        if line.startswith(_MARK):
            data = json.loads(line[len(_MARK):])
            break
    else:
        raise ValueError(f"wrk printed no summary:\n{stdout[-2000:]}")
    lat, err = data["latency_us"], data["errors"]
    return LoadResult(
        tool="wrk", connections=connections, seconds=data["duration_us"] / 1e6, requests=data["requests"],
        non_2xx=err["status"], socket_errors=err["connect"] + err["read"] + err["write"] + err["timeout"],
        p50_ms=lat["p50"] / 1000, p90_ms=lat["p90"] / 1000, p95_ms=lat["p95"] / 1000,
        p99_ms=lat["p99"] / 1000, max_ms=lat["max"] / 1000, extra={"mean_ms": lat["mean"] / 1000, "errors": err},
    )


def run_wrk(wrk: str, url: str, body: bytes, headers: Mapping[str, str], *, connections: int,
            threads: int, seconds: float, workdir: Path, timeout_s: str = "5s") -> LoadResult:
    """``wrk --latency`` against ``url`` with one pre-signed request."""
    script = Path(workdir) / f"lookup-{connections}c.lua"
    script.write_text(wrk_script("POST", body, headers))
    command = [wrk, f"-t{max(1, min(threads, connections))}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
               "--latency", f"--timeout={timeout_s}", "-s", str(script), url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout[-500:]}")
    return parse_wrk_output(done.stdout, connections=connections)


def python_load(url: str, body: bytes, headers: Mapping[str, str], *, connections: int,
                seconds: float) -> LoadResult:
    """Fallback when wrk is unavailable: ``connections`` threads with keep-alive sessions (GIL-bound)."""
    stop_at = time.perf_counter() + seconds
    latencies: list[list[float]] = [[] for _ in range(connections)]
    statuses: Counter = Counter()
    errors = [0]
    lock = threading.Lock()

    def worker(slot: int) -> None:
        session = requests.Session()
        mine, local = latencies[slot], Counter()
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                status = session.post(url, data=body, headers=dict(headers), timeout=10).status_code
            except requests.RequestException:
                with lock:
                    errors[0] += 1
                continue
            mine.append(time.perf_counter() - started)
            local[status] += 1
        with lock:
            statuses.update(local)

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=connections) as pool:
        list(pool.map(worker, range(connections)))
    took = time.perf_counter() - began
    all_ms = sorted(x * 1000 for xs in latencies for x in xs)
    return LoadResult(
        tool="python-threads", connections=connections, seconds=took, requests=len(all_ms),
        non_2xx=sum(n for s, n in statuses.items() if not 200 <= s < 300), socket_errors=errors[0],
        p50_ms=percentile(all_ms, 50), p90_ms=percentile(all_ms, 90), p95_ms=percentile(all_ms, 95),
        p99_ms=percentile(all_ms, 99), max_ms=all_ms[-1] if all_ms else 0.0,
    )


# --- checked traffic for the resilience scenarios -------------------------------------------------

@dataclass
class Sent:
    """One request a scenario sent and what came back (``status`` 0: no HTTP answer)."""

    kind: str
    status: int
    seconds: float
    body: object = None
    headers: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None
    at: float = 0.0  # monotonic send time
    client: int = 0  # which client thread (keep-alive connection) sent it


@dataclass(frozen=True)
class Request:
    """A request to send: ``kind`` labels it in the report; headers/body are sent as given."""

    kind: str
    method: str
    body: bytes
    headers: Mapping[str, str]
    path: str = "/gladly/lookup"


def drive(base_url: str, requests_: Iterable[Request] | Callable[[], Request | None], *, concurrency: int,
          timeout: float, stop_after_s: float | None = None) -> list[Sent]:
    """Send every request from ``concurrency`` threads (one keep-alive session each); keep all answers.

    ``requests_`` is a list, or a callable giving the next request (``None`` when done), which
    lets scenarios sign each request just before it is sent.
    """
    if callable(requests_):
        next_request = requests_
    else:
        iterator = iter(list(requests_))
        next_request = lambda: next(iterator, None)  # noqa: E731
    lock = threading.Lock()
    answers: list[Sent] = []
    stop_at = time.monotonic() + stop_after_s if stop_after_s else None

    def worker(client: int) -> None:
        session = requests.Session()
        while stop_at is None or time.monotonic() < stop_at:
            with lock:
                req = next_request()
            if req is None:
                return
            started = time.monotonic()
            try:
                response = session.request(req.method, base_url + req.path, data=req.body,
                                           headers=dict(req.headers), timeout=timeout)
                try:
                    body: object = response.json()
                except ValueError:
                    body = response.text[:200]
                sent = Sent(req.kind, response.status_code, time.monotonic() - started, body,
                            dict(response.headers), at=started, client=client)
            except requests.RequestException as exc:
                session = requests.Session()
                sent = Sent(req.kind, 0, time.monotonic() - started, None, {}, f"{type(exc).__name__}", at=started,
                            client=client)
            with lock:
                answers.append(sent)

    threads = [threading.Thread(target=worker, args=(i,), name=f"soak-client-{i}", daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers
