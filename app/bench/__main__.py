"""``make bench`` (``python -m app.bench``): the performance table of CONTRACT section 7, in one run.

Starts the sandbox with injected latency and the API under gunicorn on loopback (fresh temporary
data directories, a signing key, a generous replay window so one pre-signed request can be
replayed by wrk), measures warm and cold DETAILED lookups, throughput at 16 concurrent clients
for the gunicorn.conf.py defaults and a few other worker/thread settings, the warm throughput and
cold lookups again with the cache on a local Redis and the events in a local PostgreSQL (CONTRACT
section 10), link-health query time over a million events and each event backend's write
throughput, and profiles the warm path. Prints one table, writes var/bench/report.md,
var/bench/latency.png and var/bench/profile.{txt,html}, and regenerates the README's
performance section.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the in-process app uses the in-memory registry
# In-process lookups would print their per-lookup log line to this terminal; gunicorn runs keep it.
logging.basicConfig(level=logging.WARNING)

from ..processes import ROOT, ApiProcess, SandboxProcess  # noqa: E402
from ..sandbox.known import KNOWN  # noqa: E402
from ..serving import WORKER_CLASS  # noqa: E402
from ..simulate import new_signing_key  # noqa: E402
from . import event_writes, freshness, measure, report, shared_backends, upstream  # noqa: E402
from .loadgen import ensure_wrk, python_load, run_wrk  # noqa: E402

OUT = ROOT / "var" / "bench"
REPLAY_WINDOW_S = 86400  # one pre-signed request stays valid for the whole run
DEFAULT_SWEEP = "sync:3,gthread:5:4,gthread:3:8"


def say(text: str) -> None:
    print(f"[bench] {text}", flush=True)


def parse_sweep(text: str) -> list[tuple[str, int, int]]:
    """``"sync:3,gthread:2:4"`` → [("sync", 3, 1), ("gthread", 2, 4)]."""
    configs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        parts = item.split(":")
        kind, workers = parts[0], int(parts[1])
        threads = int(parts[2]) if len(parts) > 2 else 1
        if kind not in ("sync", "gthread"):
            raise argparse.ArgumentTypeError(f"unknown worker class {kind!r} (sync or gthread)")
        configs.append((kind, workers, threads))
    return configs


def config_label(kind: str, workers: int, threads: int) -> str:
    kind = "gthread" if kind == WORKER_CLASS else kind
    return f"{kind}, {workers} workers" + (f" × {threads} threads" if kind == "gthread" else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0, help="sandbox latency per request (default 50)")
    parser.add_argument("--requests", type=int, default=2000, help="warm in-process lookups timed")
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk duration of the default-settings runs")
    parser.add_argument("--sweep-seconds", type=float, default=6.0, help="wrk duration per swept setting")
    parser.add_argument("--sweep", type=parse_sweep, default=parse_sweep(DEFAULT_SWEEP),
                        help=f"gunicorn settings to try, kind:workers[:threads] (default {DEFAULT_SWEEP}; '' skips)")
    # a cold lookup's time varies by a few milliseconds from run to run (two cores shared with the
    # sandbox): with 7 runs the median moved by about 0.05x of the round trip between bench runs
    parser.add_argument("--cold-runs", type=int, default=21, help="cold lookups per cold row; the median is reported")
    parser.add_argument("--events", type=int, default=1_000_000, help="events for the link-health timing (0 skips)")
    parser.add_argument("--profile-lookups", type=int, default=1500)
    parser.add_argument("--customer", default=KNOWN["bench"], help="customer of the warm lookups")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--no-readme", action="store_true", help="do not regenerate README's performance section")
    parser.add_argument("--readme-only", action="store_true",
                        help="only regenerate README's section from the last report.md and soak.md")
    args = parser.parse_args(argv)
    if args.readme_only:
        last = args.out / "report.md"
        regenerate_readme(last.read_text() if last.exists() else "", args.out)
        return 0

    started = time.perf_counter()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ogtk-bench-"))
    key = new_signing_key()
    results: dict[str, Any] = {"latency_ms": args.latency_ms, "machine": measure.machine(), "notes": []}
    payload = measure.detailed_payload(args.customer)
    wrk = ensure_wrk(say=say)
    load_before = os.getloadavg()[0]
    try:
        with SandboxProcess(latency_ms=args.latency_ms, log_path=work / "sandbox.log") as sandbox:
            say(f"sandbox on {sandbox.base_url}, {args.latency_ms:g} ms injected per request")
            results["rtt_measured_ms"] = measure.upstream_rtt_ms(sandbox.base_url, sandbox.api_key, args.customer)
            in_process(args, results, sandbox, key, payload, work, out)
            load = load_function(key, payload, wrk, work)
            over_gunicorn(args, results, sandbox, key, payload, work, wrk, load)
            on_shared_servers(args, results, sandbox, key, payload, work, load)
        writes_budget_and_memory(args, results, key, work)
        if args.events:
            say(f"link-health queries over {args.events:,} events …")
            results["link_health"] = measure.link_health(out, args.events, say=say)
        results["event_writes"] = event_writes.measure(work, say=say)  # each event backend's writes
    finally:
        shutil.rmtree(work, ignore_errors=True)

    results["notes"].append(
        f"1-minute load average {load_before:.1f} before and {os.getloadavg()[0]:.1f} after the run on "
        f"{os.cpu_count()} CPUs: other processes on the machine share the CPUs with the server and wrk, "
        "so throughput numbers vary between runs")
    markdown = report.bench_markdown(results)
    (out / "report.md").write_text(markdown)
    chart = report.latency_chart(out / "latency.png", results)
    print()
    print(report.format_table(report.bench_rows(results)))
    if results.get("sweep"):
        print()
        print(report.format_table(report.sweep_rows(results["sweep"]), header=("gunicorn setting", "Throughput", "Latency")))
    if results.get("profile"):
        p = results["profile"]
        print(f"\nWarm path profile ({p.lookups:,} lookups; full report {p.text_path}):")
        print("  our modules, with the library calls below them:")
        for name, share in p.top_module[:6]:
            print(f"    {share:6.1%}  {name}")
        print("  our functions, with the library calls below them:")
        for name, share in p.top_app[:8]:
            print(f"    {share:6.1%}  {name}")
        print("  hottest frames by self time:")
        for name, share in p.top_self[:8]:
            print(f"    {share:6.1%}  {name}")
    for note in results["notes"]:
        print(f"note: {note}")
    print(f"\nwrote {out / 'report.md'}" + (f", {chart}" if chart else "") + f" in {time.perf_counter() - started:.0f} s")
    if not args.no_readme:
        regenerate_readme(markdown, out)
    return 0


def in_process_app(sandbox: SandboxProcess, key: str, data_dir: Path, env: dict | None = None):
    """The API app built in this process against the sandbox (``env``: more settings)."""
    from .. import create_app

    return create_app({
        "ORDERGROOVE_BASE_URL": sandbox.base_url, "ORDERGROOVE_API_KEY": sandbox.api_key,
        "GLADLY_SIGNING_KEY": key, "GLADLY_REPLAY_WINDOW_S": REPLAY_WINDOW_S,
        "OGTK_DATA_DIR": str(measure.fresh_dir(data_dir)), **(env or {}),
    })


def cold_lookups(bench: measure.InProcess, services, sandbox: SandboxProcess, payload: dict,
                 runs: int) -> tuple[dict[str, Any], list[int] | None]:
    """Cold DETAILED lookups by endpoint: fully cold, catalogue cached, the 12-subscription
    customer, with the sandbox kept off the CPU of the API's fetch threads
    (:func:`~app.bench.measure.sandbox_apart`); then, when it was, catalogue cached once more with
    the sandbox sharing the CPUs, for comparison. Returns the cases and the sandbox's CPUs."""
    say("cold DETAILED lookups by endpoint: fully cold, catalogue cached, the 12-subscription customer …")
    customer_id = payload["query"]["externalCustomerId"]
    twelve = measure.detailed_payload(KNOWN["twelve"])
    fully_cold, catalogue_cached = services.fetcher.cache.clear, lambda: services.fetcher.invalidate(customer_id)

    def cold(lookup: dict, clear: Callable[[], Any]) -> dict[str, Any]:
        return upstream.cold_by_endpoint(lambda: bench.answer(lookup), clear, sandbox, runs)

    services.fetcher.executor()  # the process's fetch CPU is chosen with its threads
    with measure.sandbox_apart(sandbox.pid, services.fetcher.fetch_cpu) as apart:
        cases = {"fully cold": cold(payload, fully_cold), "catalogue cached": cold(payload, catalogue_cached),
                 "12 subscriptions on 4 orders": cold(twelve, fully_cold)}
    if apart:
        bench.lookup(payload)  # the catalogue again: the 12-subscription case cleared the whole cache
        cases[report.SHARING_CASE] = cold(payload, catalogue_cached)
    return cases, sorted(apart) if apart else None


def in_process(args, results: dict, sandbox: SandboxProcess, key: str, payload: dict, work: Path, out: Path) -> None:
    from .profile import profile_warm

    app = in_process_app(sandbox, key, work / "inproc")
    services = app.extensions["ogtk"]
    bench = measure.InProcess(app, key)
    try:
        results["cold_by_endpoint"], results["sandbox_cpus"] = cold_lookups(bench, services, sandbox, payload,
                                                                            args.cold_runs)
        if results["sandbox_cpus"]:
            results["notes"].append(
                f"In-process cold rows: the sandbox ran on CPU {', '.join(map(str, results['sandbox_cpus']))} and "
                f"the API's fetch threads on CPU {services.fetcher.fetch_cpu} (app/bench/measure.py, sandbox_apart, "
                "says why); through gunicorn the workers' fetch threads use every CPU and the sandbox shares them")
        bench.timed(payload, 50)  # warm up code paths, connections and the page cache
        say(f"{args.requests:,} warm DETAILED lookups in-process …")
        before = sandbox.stats()
        seconds = bench.timed(payload, args.requests)
        results["inproc_upstream_per_warm"] = measure.upstream_delta(before, sandbox.stats()) / args.requests
        results["inproc_warm"] = measure.summarize_ms(seconds)
        results["inproc_samples_ms"] = [s * 1000 for s in seconds]
        if args.profile_lookups:
            say(f"profiling {args.profile_lookups:,} warm lookups with pyinstrument …")
            results["profile"] = profile_warm(lambda n: bench.presign(payload, n), bench.send_all,
                                              args.profile_lookups, out)
    finally:
        services.close()


def load_function(key: str, payload: dict, wrk: str | None, work: Path):
    """``load(api, connections, seconds)``: the warm lookup ``payload`` sent for ``seconds`` by wrk
    (or the Python fallback); a :class:`~app.bench.loadgen.LoadResult`."""
    def load(api: ApiProcess, connections: int, seconds: float):
        body, headers = measure.signed_request(key, payload)
        if wrk:
            return run_wrk(wrk, api.lookup_url, body, headers, connections=connections,
                           threads=2 if connections > 1 else 1, seconds=seconds, workdir=work)
        return python_load(api.lookup_url, body, headers, connections=connections, seconds=seconds)

    return load


def over_gunicorn(args, results: dict, sandbox: SandboxProcess, key: str, payload: dict, work: Path,
                  wrk: str | None, load) -> None:
    import diskcache

    def start(name: str, **options) -> ApiProcess:
        return ApiProcess(sandbox_url=sandbox.base_url, data_dir=measure.fresh_dir(work / name), signing_key=key,
                          log_path=work / f"{name}.log", env={"GLADLY_REPLAY_WINDOW_S": REPLAY_WINDOW_S}, **options)

    def warm(api: ApiProcess) -> int:
        import requests

        body, headers = measure.signed_request(key, payload)
        return requests.post(api.lookup_url, data=body, headers=headers, timeout=10).status_code

    if not wrk:
        results["notes"].append("wrk unavailable: throughput measured with the Python thread load generator "
                                "(GIL-bound, understates the server)")
    defaults = "gunicorn.conf.py defaults"
    say(f"API under gunicorn with {defaults} …")
    with start("defaults") as api:
        api.wait_workers(1)
        results["default_config"] = gunicorn_defaults()
        if warm(api) != 200:
            raise RuntimeError("warm-up lookup through gunicorn failed")
        say("cold DETAILED lookups through gunicorn (the whole disk cache cleared before each) …")
        store = diskcache.Cache(str(api.data_dir / "cache"))
        try:
            with measure.KeepAliveClient(api.lookup_url, key, payload) as client:
                results["cold_by_endpoint_gunicorn"] = {"fully cold": upstream.cold_by_endpoint(
                    client.answer, store.clear, sandbox, args.cold_runs)}
        finally:
            store.close()
        load(api, 16, 2)  # warm every worker's connections and cache pages
        say("single-client warm latency through gunicorn (wrk -c1) …")
        results["gunicorn_warm"] = load(api, 1, min(args.seconds, 6))
        say("throughput at 16 concurrent clients (wrk -c16) …")
        before = sandbox.stats()
        results["throughput"] = load(api, 16, args.seconds)
        results["upstream_per_warm_under_load"] = (measure.upstream_delta(before, sandbox.stats())
                                                   / max(1, results["throughput"].requests))
    sweep = [{"config": f"defaults: {results['default_config']}", "result": results["throughput"]}]
    for kind, workers, threads in args.sweep:
        label = config_label(kind, workers, threads)
        say(f"trying {label} …")
        try:
            worker_class = WORKER_CLASS if kind == "gthread" else kind  # gthread as the API deploys it
            with start(f"{kind}-{workers}-{threads}", workers=workers, threads=threads, worker_class=worker_class) as api:
                if warm(api) != 200:
                    raise RuntimeError("warm-up lookup failed")
                load(api, 16, 1)
                sweep.append({"config": label, "result": load(api, 16, args.sweep_seconds)})
        except RuntimeError as exc:
            results["notes"].append(f"{label}: {str(exc).splitlines()[0]}")
    results["sweep"] = sweep
    clean = [item for item in sweep if item["result"].non_2xx == 0 and item["result"].socket_errors == 0] or sweep
    results["best"] = max(clean, key=lambda item: item["result"].rps)


def on_shared_servers(args, results: dict, sandbox: SandboxProcess, key: str, payload: dict, work: Path,
                      load) -> None:
    """The cold lookups and the warm throughput again with ``OGTK_CACHE_URL`` on a local Redis and
    ``OGTK_EVENTS_URL`` on a local PostgreSQL; the reason instead when either cannot start."""
    with shared_backends.servers(work, say=say) as env:
        if isinstance(env, str):
            results["shared_backends"] = {"skipped": env}
            return
        shared: dict[str, Any] = {}
        app = in_process_app(sandbox, key, work / "inproc-shared", env)
        services = app.extensions["ogtk"]
        try:
            shared["cold_by_endpoint"], shared["sandbox_cpus"] = cold_lookups(
                measure.InProcess(app, key), services, sandbox, payload, args.cold_runs)
        finally:
            services.close()
        shared.update(shared_backends.warm_throughput(
            sandbox, key, payload, work, load, env=env, base_env={"GLADLY_REPLAY_WINDOW_S": REPLAY_WINDOW_S},
            seconds=args.seconds, say=say))
        results["shared_backends"] = shared


def writes_budget_and_memory(args, results: dict, key: str, work: Path) -> None:
    """A second sandbox that sends webhooks to an API with both actions on: the request budget under
    16-client cold load, worker memory, action submit latency, webhook-to-fresh-card latency."""
    from ..processes import free_port
    from ..simulate import fetch_sandbox_customers

    webhook_key = new_signing_key()
    api_port = free_port()
    with SandboxProcess(latency_ms=args.latency_ms, log_path=work / "sandbox-writes.log",
                        webhook_url=f"http://127.0.0.1:{api_port}/ordergroove/webhook",
                        webhook_key=webhook_key) as sandbox, \
            ApiProcess(sandbox_url=sandbox.base_url, data_dir=measure.fresh_dir(work / "writes"), signing_key=key,
                       log_path=work / "writes.log", port=api_port,
                       env={"GLADLY_REPLAY_WINDOW_S": REPLAY_WINDOW_S, "OGTK_ACTIONS": "cancel,skip",
                            "ORDERGROOVE_WEBHOOK_KEY": webhook_key}) as api:
        fixtures = {str(v) for v in KNOWN.values() if isinstance(v, str)}
        ids = [str(c["merchant_user_id"]) for c in fetch_sandbox_customers(sandbox.base_url, sandbox.api_key, 400)
               if str(c.get("merchant_user_id")) not in fixtures]
        say(f"request budget: {len(ids[:160])} cold DETAILED lookups from 16 clients, counted in the sandbox …")
        results["budget"] = upstream.cold_load_budget(api, sandbox, key, ids[:160])
        say("API worker memory after those lookups and 200 warm ones …")
        warm = measure.signed_request(key, measure.detailed_payload(KNOWN["bench"]))
        import requests

        for _ in range(200):
            requests.post(api.lookup_url, data=warm[0], headers=warm[1], timeout=15)
        results["worker_rss_mib"] = upstream.worker_rss_mib(api.worker_pids())
        say("action submit latency (cancel with a reason) …")
        results["action_submit"] = freshness.action_submits(api, key, ids[160:260])
        say("webhook-to-fresh-card latency (admin edit in the sandbox, then DETAILED lookups until it shows) …")
        results["webhook_fresh"] = freshness.webhook_freshness(api, sandbox, key, ids[260:])


def gunicorn_defaults() -> str:
    """Worker class, workers and threads that gunicorn.conf.py picks on this machine (clean environment)."""
    import subprocess

    from ..processes import clean_env

    code = ("import runpy; c = runpy.run_path('gunicorn.conf.py'); "
            "print(c['worker_class'], c['workers'], c['threads'])")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean_env(), capture_output=True,
                          text=True, timeout=30, check=False)
    try:
        kind, workers, threads = done.stdout.split()
        return config_label(kind, int(workers), int(threads))
    except ValueError:
        return "as configured"


def regenerate_readme(bench_md: str, out: Path) -> None:
    soak = out / "soak.md"
    section = report.readme_section(bench_md or None, soak.read_text() if soak.exists() else None)
    if report.update_readme(ROOT / "README.md", section):
        say("README.md performance section regenerated")
    else:
        say("README.md has no <!-- performance:start/end --> markers; left untouched")


if __name__ == "__main__":
    sys.exit(main())
