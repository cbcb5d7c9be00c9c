"""The generated table and the README's performance section."""

from app.bench.loadgen import LoadResult
from app.bench.report import END, START, bench_rows, format_table, readme_section, update_readme


def load(rps_requests, non_2xx=0):
    return LoadResult("wrk", 16, 1.0, rps_requests, non_2xx, 0, 1.0, 2.0, 3.0, 4.0, 5.0)


def test_format_table_pads_columns():
    table = format_table([("a", "1", "x"), ("longer name", "22", "y")])
    lines = table.splitlines()
    assert lines[0].startswith("| Measurement ")
    assert len({len(line) for line in lines}) == 1


def cold(median_ms, requests=9):
    return {"runs": 3, "median_ms": median_ms, "requests": requests, "by_endpoint": {"/customers/{id}/": 1}}


def test_bench_rows_judge_targets():
    results = {"latency_ms": 50.0, "rtt_measured_ms": 50.0, "default_config": "gthread", "throughput": load(1200),
               "cold_by_endpoint": {"fully cold": cold(150.0)}, "inproc_upstream_per_warm": 0.0,
               "link_health": {"events": 1_000_000, "queries_s": {"summary": 1.2, "trend": 0.1}}}
    rows = {row[0].split(",")[0]: row for row in bench_rows(results)}
    assert "✅" in rows["Throughput"][2]
    cold_row = next(row for row in bench_rows(results) if row[0].startswith("Cold"))
    assert "3.00×" in cold_row[1] and "❌" in cold_row[2]
    assert rows["Upstream requests per DETAILED lookup (counted in the sandbox)"][1] == "cold 9 · warm 0"
    health = next(row for row in bench_rows(results) if row[0].startswith("Link-health"))
    assert "1200 ms (summary)" in health[1] and "❌" in health[2]


def test_the_fully_cold_lookup_is_judged_through_gunicorn_too():
    results = {"latency_ms": 50.0, "rtt_measured_ms": 50.0, "cold_by_endpoint": {"fully cold": cold(105.0)},
               "cold_by_endpoint_gunicorn": {"fully cold": cold(120.0)}}
    [in_process, gunicorn] = [row for row in bench_rows(results) if row[0].startswith("Cold")]
    assert "in-process" in in_process[0] and "2.10×" in in_process[1] and "✅" in in_process[2]
    assert "through gunicorn" in gunicorn[0] and "2.40×" in gunicorn[1] and "❌" in gunicorn[2]


def test_the_stop_6_cold_rows_are_gone():
    """Issue 9's cold rows (fully cold, catalogue cached, 12 subscriptions) replaced the three
    ≤ 2.5× rows; results shaped like the old ones produce no cold row."""
    results = {"latency_ms": 50.0, "cold_inproc": {"runs": 5, "median_ms": 150.0, "upstream_cold": 10,
                                                   "upstream_warm": 0},
               "cold_gunicorn": {"runs": 5, "median_ms": 150.0}, "cold_customer_inproc": {"runs": 5}}
    assert not [row for row in bench_rows(results) if row[0].startswith("Cold")]


def shared_results(shared_rps, disk_rps=1000, non_2xx=0):
    return {"latency_ms": 50.0, "rtt_measured_ms": 50.0, "default_config": "gthread", "throughput": load(2000),
            "shared_backends": {"shared": load(shared_rps, non_2xx), "diskcache": load(disk_rps),
                                "cold_by_endpoint": {"fully cold": cold(105.0), "catalogue cached": cold(120.0, 8)}}}


def shared_rows(results):
    return [row for row in bench_rows(results) if "Redis" in row[0]]


def test_shared_backend_rows_judge_throughput_against_diskcache_and_repeat_the_cold_rows():
    throughput, fully_cold, catalogue = shared_rows(shared_results(850))
    assert throughput[0].startswith("Throughput, 16 concurrent signed clients, warm — cache on local Redis, "
                                    "events in local PostgreSQL")
    # judged against the diskcache instance measured alternately with it, not the defaults row (2,000/s)
    assert throughput[1].startswith("850 lookups/s = 85% of diskcache (1,000/s, measured alternately)")
    assert throughput[2] == "≥ 80% of diskcache ✅"
    assert fully_cold[0].startswith("Cold DETAILED, fully cold, in-process on local Redis + PostgreSQL")
    assert fully_cold[1].startswith("105 ms = 2.10×") and fully_cold[2] == "≤ 2.2× ✅"
    assert catalogue[1].startswith("120 ms = 2.40×") and catalogue[2] == "≤ 2.1× ❌ missed"
    assert shared_rows(shared_results(700))[0][2] == "≥ 80% of diskcache ❌ missed"
    assert shared_rows(shared_results(900, non_2xx=3))[0][2] == "≥ 80% of diskcache ❌ missed"


def test_shared_backend_rows_say_skipped_with_the_reason():
    reason = "redis-server is not installed (Debian: apt-get install redis-server)"
    rows = shared_rows({"latency_ms": 50.0, "shared_backends": {"skipped": reason}})
    assert [row[1] for row in rows] == [f"skipped: {reason}"] * 2
    assert rows[0][2] == "≥ 80% of diskcache"
    assert shared_rows({"latency_ms": 50.0}) == []  # not measured at all: no row


def test_the_section_names_the_machine_once_whichever_command_writes_it():
    """make bench passed the machine along and added a line of its own; make soak did not, so
    the two wrote different sections from the same reports."""
    section = readme_section("# Benchmark\n\nMachine: 2 CPUs.\n\n| a | b |\n", "# Soak\n\n2 CPUs; 7/7\n")
    assert section.count("Machine: 2 CPUs.") == 1 and "Measured on" not in section


def test_update_readme_replaces_only_between_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nintro\n{START}\nold text\n{END}\n\n## After\n")
    section = readme_section("# Benchmark\n\nMachine: x.\n\n## Sweep\n\ntable\n", "# Soak\n\nall good\n")
    assert update_readme(readme, section)
    text = readme.read_text()
    assert text.startswith("# Title\n\nintro\n")
    assert text.endswith(f"{END}\n\n## After\n")
    assert "old text" not in text
    assert "## Performance and resilience" in text and "### Sweep" in text and "all good" in text


def test_update_readme_without_markers_leaves_file(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n")
    assert not update_readme(readme, "x")
    assert readme.read_text() == "# Title\n"


def test_upstream_rows_say_multiples_budget_memory_and_not_built():
    from app.bench.report import NOT_BUILT, upstream_rows

    rows = upstream_rows({
        "latency_ms": 50, "rtt_measured_ms": 50,
        "cold_by_endpoint": {"fully cold": {"runs": 3, "median_ms": 105, "requests": 6,
                                            "by_endpoint": {"/customers/{id}/": 1, "/orders/": 1}}},
        "budget": {"lookups": 160, "peak_per_s": 120, "upstream": 600, "seconds": 6.0, "statuses": {200: 160},
                   "limit": 90},
        "worker_rss_mib": [48.0, 52.5],
        "action_submit": None,
        "webhook_fresh": {"n": 15, "p50": 120, "p95": 300, "missed": 0},
    })
    text = {name: (result, target) for name, result, target in rows}
    cold = next(v for k, v in text.items() if k.startswith("Cold DETAILED, fully cold"))
    assert cold[0].startswith("105 ms = 2.10×") and "/orders/ 1" in cold[0] and "✅" in cold[1]
    budget = next(v for k, v in text.items() if k.startswith("Upstream request rate"))
    assert "peak 120 req/s" in budget[0] and "❌" in budget[1]
    assert "✅" in next(v for k, v in text.items() if k.startswith("API worker RSS"))[1]
    assert next(v for k, v in text.items() if k.startswith("Action submit"))[0] == NOT_BUILT
    assert "p95 300 ms" in next(v for k, v in text.items() if k.startswith("Webhook-to-fresh"))[0]


def test_peak_rate_is_the_busiest_sliding_second():
    from app.bench.upstream import peak_rate

    log = [{"started": t} for t in (0.0, 0.1, 0.2, 1.5, 1.6, 1.65, 1.7, 3.0)]
    assert peak_rate(log) == 4
    assert peak_rate([]) == 0
    # counted at arrival where the sandbox logged it: a gate delay does not bunch requests up
    arrived = [{"arrived": t, "started": t + (0.9 if i == 0 else 0.0)} for i, t in enumerate((0.0, 1.2, 1.3))]
    assert peak_rate(arrived) == 2


def test_the_budget_limit_is_the_instances_burst_plus_one_seconds_rate():
    """The row compares the sandbox's busiest second with what the API's budget allows (it said
    "not built" while the budget existed, because no limit was ever passed)."""
    from types import SimpleNamespace

    from app.bench.upstream import budget_limit_per_s

    env = {"ORDERGROOVE_BASE_URL": "http://127.0.0.1:8700", "OGTK_ALLOW_UNAUTHENTICATED": "1"}
    assert budget_limit_per_s(SimpleNamespace(env=env)) == 160.0  # default 80/s, burst 80
    assert budget_limit_per_s(SimpleNamespace(env={**env, "OGTK_UPSTREAM_RATE_PER_S": "25"})) == 50.0


def test_in_process_cold_rows_say_the_sandbox_had_its_own_cpu_and_the_comparison_row_has_no_target():
    from app.bench.report import SHARING_CASE

    results = {"latency_ms": 50.0, "rtt_measured_ms": 50.0, "sandbox_cpus": [1],
               "cold_by_endpoint": {"catalogue cached": cold(104.0, 8), SHARING_CASE: cold(106.0, 8)}}
    apart_row, sharing_row = [row for row in bench_rows(results) if row[0].startswith("Cold")]
    assert apart_row[0].startswith("Cold DETAILED, catalogue cached, in-process, sandbox on its own CPU, median")
    assert apart_row[1].startswith("104 ms = 2.08×") and apart_row[2] == "≤ 2.1× ✅"
    assert sharing_row[0].startswith(f"Cold DETAILED, {SHARING_CASE}, in-process, median")
    assert sharing_row[1].startswith("106 ms = 2.12×") and sharing_row[2] == "—"
    # without CPUs of its own (one CPU, not Linux) the rows say nothing about it
    del results["sandbox_cpus"]
    assert "own CPU" not in next(row for row in bench_rows(results) if row[0].startswith("Cold"))[0]
