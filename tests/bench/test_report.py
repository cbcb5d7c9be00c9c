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


def test_bench_rows_judge_targets():
    results = {"latency_ms": 50.0, "default_config": "gthread", "throughput": load(1200),
               "cold_inproc": {"runs": 5, "median_ms": 150.0, "upstream_cold": 10, "upstream_warm": 0},
               "link_health": {"events": 1_000_000, "queries_s": {"summary": 1.2, "trend": 0.1}}}
    rows = {row[0].split(",")[0]: row for row in bench_rows(results)}
    assert "✅" in rows["Throughput"][2]
    cold = next(row for row in bench_rows(results) if row[0].startswith("Cold"))
    assert "3.00×" in cold[1] and "❌" in cold[2]
    health = next(row for row in bench_rows(results) if row[0].startswith("Link-health"))
    assert "1200 ms (summary)" in health[1] and "❌" in health[2]


def test_update_readme_replaces_only_between_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nintro\n{START}\nold text\n{END}\n\n## After\n")
    section = readme_section("# Benchmark\n\nMachine: x.\n\n## Sweep\n\ntable\n", None, "# Soak\n\nall good\n")
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


def test_the_budget_limit_is_the_instances_burst_plus_one_seconds_rate():
    """The row compares the sandbox's busiest second with what the API's budget allows (it said
    "not built" while the budget existed, because no limit was ever passed)."""
    from types import SimpleNamespace

    from app.bench.upstream import budget_limit_per_s

    env = {"ORDERGROOVE_BASE_URL": "http://127.0.0.1:8700", "OGTK_ALLOW_UNAUTHENTICATED": "1"}
    assert budget_limit_per_s(SimpleNamespace(env=env)) == 160.0  # default 80/s, burst 80
    assert budget_limit_per_s(SimpleNamespace(env={**env, "OGTK_UPSTREAM_RATE_PER_S": "25"})) == 50.0
