"""Gunicorn settings for the lookup API (read automatically from the repo root).

Threaded workers (``app.serving``: gunicorn's gthread, timing each request's wait for a thread):
a lookup mostly waits on Ordergroove, so threads keep a worker useful while one request waits.
Four per worker, taking turns to run (``app.turns``: one request at a time, in arrival order,
while the others wait on Ordergroove): eight made the warm tail worse (each worker then holds
more of the connections, see ``make bench``), and with Ordergroove hanging the circuit breaker
frees them after two timeouts. One worker per core
plus one, not gunicorn's 2 × cores + 1 (advice for sync workers, which overlap no I/O): warm
lookups are CPU-bound, and five processes sharing two cores made a warm lookup wait for the CPU
behind the others. At 16 warm clients on 2 cores, 3 workers had a lower p99 than 5 in each of
five rounds run alternately (29.7–38.8 ms against 40.9–70.4) at the same throughput.
The worker timeout sits well above OGTK_LOOKUP_DEADLINE_S (a lookup gives up by then), so only a
truly stuck worker is recycled. Prometheus runs in multiprocess mode so /metrics adds up every
worker; its files live outside OGTK_DATA_DIR (see app.settings.default_metrics_dir).
"""

import multiprocessing
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app.serving import WORKER_CLASS  # noqa: E402
from app.settings import Settings, SettingsError, default_metrics_dir  # noqa: E402

_data_dir = Path(os.environ.get("OGTK_DATA_DIR") or "var")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(default_metrics_dir(_data_dir))

bind = os.environ.get("OGTK_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("OGTK_WORKERS", min(multiprocessing.cpu_count() + 1, 8)))
worker_class = WORKER_CLASS  # gthread that takes a request's wait for a thread off its deadline
threads = int(os.environ.get("OGTK_THREADS", 4))
# Connections one worker holds at once: one per thread, plus two idle keep-alive connections.
# Without a bound, the first worker to wake accepts most of a burst of connections (wrk's 16
# went 12/3/1 over five workers) and keeps them alive: its threads queue while other workers sit
# idle, which was most of the warm tail at 16 clients. At the bound a worker stops accepting and
# the others take the next connections; a client beyond it reconnects instead of keeping alive.
# Two, not one: with 3 workers, threads + 1 is 15 slots for 16 clients, and the reconnecting
# tripled the p99; with threads + 4 one worker queued more of them (p99 40-48 ms against 30-39).
worker_connections = int(os.environ.get("OGTK_WORKER_CONNECTIONS", threads + 2))
_deadline = float(os.environ.get("OGTK_LOOKUP_DEADLINE_S") or 4.0)
timeout = max(10, int(_deadline * 3))
graceful_timeout = max(10, int(_deadline * 2))
keepalive = 5
max_requests = int(os.environ.get("OGTK_MAX_REQUESTS", 20000))  # recycle a worker after this many
max_requests_jitter = int(os.environ.get("OGTK_MAX_REQUESTS_JITTER", max_requests // 10))
accesslog = os.environ.get("OGTK_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("OGTK_LOG_LEVEL", "info")


def on_starting(server):
    """Fail closed in the master, before any worker forks, instead of a restart loop.

    A fresh start clears the metrics directory (counters restart with the server); the new
    master of a USR2 upgrade (``server.master_pid`` set) keeps it, since the old master's
    workers still write there and their counts carry on."""
    try:
        Settings.from_env().check_api_can_start()
    except SettingsError as exc:
        print(f"ogtk: {exc}", file=sys.stderr)
        sys.exit(2)
    prom = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    if not server.master_pid:
        shutil.rmtree(prom, ignore_errors=True)
    prom.mkdir(parents=True, exist_ok=True)


def on_exit(server):
    """Remove the metrics directory unless the other master of a USR2 upgrade still uses it."""
    if not server.reexec_pid and not server.master_pid:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def child_exit(server, worker):
    """A worker exited (recycled, killed, stopped): fold its metric files into the archives."""
    from app.metrics_archive import archive_dead_worker

    archive_dead_worker(os.environ["PROMETHEUS_MULTIPROC_DIR"], worker.pid)


def post_worker_init(worker):
    """Start the worker's fetch threads before its first lookup, and freeze what the worker has
    built so far out of the garbage collector's sight. On SIGTERM (a graceful stop or a recycle)
    fail /readyz while in-flight requests drain, so a load balancer stops sending before the
    worker goes away; gunicorn's own handler then runs.

    Why freeze: the app, its modules and its connections live as long as the worker, yet every
    full collection walked them all again: in 5,000 warm lookups in-process, the one full
    collection took 34 ms, and a worker collecting holds every request on its threads. Frozen
    objects are never collected (they are all still in use); what the lookups allocate later is
    collected as before."""
    import gc
    import signal

    stop = signal.getsignal(signal.SIGTERM)
    services = getattr(worker.wsgi, "extensions", {}).get("ogtk")
    if services is not None:
        services.fetcher.prestart()  # the first cold lookups of a fresh worker start no threads

    def on_term(signum, frame):
        if services is not None:
            services.readiness.begin_shutdown()
        if callable(stop):
            stop(signum, frame)

    signal.signal(signal.SIGTERM, on_term)
    gc.collect()  # what start-up left as garbage goes now, not into the permanent generation
    gc.freeze()
