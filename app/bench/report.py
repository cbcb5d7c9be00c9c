"""Turn benchmark and soak results into the printed table, ``report.md``, the chart and the README section.

The README's performance section is generated, never hand-edited: :func:`update_readme`
replaces only the text between ``<!-- performance:start -->`` and ``<!-- performance:end -->``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

from . import event_writes

START, END = "<!-- performance:start -->", "<!-- performance:end -->"

Row = tuple[str, str, str]  # measurement, result, target / verdict


def format_table(rows: Sequence[Row], header: Row = ("Measurement", "Result", "Target")) -> str:
    """A Markdown table whose columns are padded, so it reads well in a terminal too."""
    cells = [tuple(str(c) for c in header), *[tuple(str(c) for c in row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths)) + " |"

    out = [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(row) for row in cells[1:]]
    return "\n".join(out)


def verdict(ok: bool | None, target: str) -> str:
    if ok is None:
        return target
    return f"{target} {'✅' if ok else '❌ missed'}"


def ms3(p50: float, p95: float, p99: float) -> str:
    return f"p50 {p50:.2f} ms · p95 {p95:.2f} ms · p99 {p99:.2f} ms"


def bench_rows(r: dict[str, Any]) -> list[Row]:
    """The table of CONTRACT section 7 (plus link health) from the results of one bench run."""
    rows: list[Row] = []
    if "inproc_warm" in r:
        w = r["inproc_warm"]
        rows.append((f"Warm DETAILED lookup, in-process (Flask test client, n={w['n']:,})",
                     ms3(w["p50"], w["p95"], w["p99"]), "—"))
    if "gunicorn_warm" in r:
        g = r["gunicorn_warm"]
        rows.append((f"Warm DETAILED lookup, gunicorn over loopback (1 client, {g.tool}, n={g.requests:,})",
                     ms3(g.p50_ms, g.p95_ms, g.p99_ms), "—"))
    if "throughput" in r:
        t = r["throughput"]
        rows.append((f"Throughput, 16 concurrent signed clients, warm — gunicorn.conf.py defaults ({r['default_config']})",
                     f"{t.rps:,.0f} lookups/s · {ms3(t.p50_ms, t.p95_ms, t.p99_ms)} · non-2xx {t.non_2xx}",
                     verdict(t.rps >= 1000 and t.non_2xx == 0, "≥ 1,000/s")))
    if r.get("best"):
        b = r["best"]
        t = b["result"]
        rows.append((f"Throughput, 16 clients — best setting tried ({b['config']})",
                     f"{t.rps:,.0f} lookups/s · {ms3(t.p50_ms, t.p95_ms, t.p99_ms)} · non-2xx {t.non_2xx}",
                     verdict(t.rps >= 1000 and t.non_2xx == 0, "≥ 1,000/s")))
    cold = (r.get("cold_by_endpoint") or {}).get("fully cold")
    if cold is not None and "inproc_upstream_per_warm" in r:
        rows.append(("Upstream requests per DETAILED lookup (counted in the sandbox)",
                     f"cold {cold['requests']:g} · warm {r['inproc_upstream_per_warm']:g}"
                     + (f" · under 16-client load {r['upstream_per_warm_under_load']:.3f}"
                        if "upstream_per_warm_under_load" in r else ""), "warm: 0"))
    rows += upstream_rows(r)
    rows += shared_backend_rows(r)
    if "link_health" in r:
        lh = r["link_health"]
        worst_name, worst = max(lh["queries_s"].items(), key=lambda item: item[1])
        first_worst = max(lh.get("first_pass_s", lh["queries_s"]).values())
        rows.append((f"Link-health queries over {lh['events']:,} events ({len(lh['queries_s'])} queries)",
                     f"slowest {worst * 1000:.0f} ms ({worst_name}); first pass after opening: slowest "
                     f"{first_worst * 1000:.0f} ms",
                     verdict(worst < 1.0, "< 1 s each")))
    if r.get("profile"):
        p = r["profile"]
        ours = [(n, s) for n, s in p.top_module if not n.startswith("(")][:3]
        framework = next((s for n, s in p.top_module if n.startswith("(")), 0.0)
        rows.append((f"Warm path profile (pyinstrument, {p.lookups:,} lookups): slowest parts",
                     " · ".join(f"{n.removeprefix('app/')} {s:.0%}" for n, s in ours)
                     + f" · (Flask/Werkzeug/test client {framework:.0%})", "see var/bench/profile.txt"))
    rows += event_writes.rows(r)
    return rows


NOT_BUILT = "n/a (not built)"


def upstream_rows(r: dict[str, Any]) -> list[Row]:
    """Issue 8-11 rows: cold lookups by endpoint, request budget, worker memory, actions, webhooks."""
    rows: list[Row] = cold_rows(r, r.get("cold_by_endpoint") or {}, "in-process", r.get("sandbox_cpus"))
    rows += cold_rows(r, r.get("cold_by_endpoint_gunicorn") or {}, "through gunicorn (defaults)")
    if "budget" in r:
        b = r["budget"]
        limit = b.get("limit")
        rows.append((f"Upstream request rate under 16-client cold load ({b['lookups']} cold lookups, "
                     "counted in the sandbox)",
                     f"peak {b['peak_per_s']:.0f} req/s · {b['upstream']} requests in {b['seconds']:.1f} s · "
                     f"answers {b['statuses']}",
                     verdict(b["peak_per_s"] <= float(limit), f"≤ {float(limit):g}/s") if limit else
                     f"limit {NOT_BUILT}"))
    if "worker_rss_mib" in r:
        sizes = r["worker_rss_mib"]
        rows.append(("API worker RSS after a few hundred lookups (gunicorn workers)",
                     " · ".join(f"{m:.0f} MiB" for m in sizes) or "no workers found",
                     verdict(bool(sizes) and max(sizes) <= 60, "≤ 60 MiB each")))
    if "action_submit" in r:
        a = r["action_submit"]
        rows.append(("Action submit latency (cancel with a reason) against the sandbox",
                     f"p50 {a['p50']:.0f} ms · p95 {a['p95']:.0f} ms (n={a['n']}, answers {a['statuses']})"
                     if a else NOT_BUILT, "answer ≤ 10 s"))
    if "webhook_fresh" in r:
        w = r["webhook_fresh"]
        rows.append(("Webhook-to-fresh-card latency (sandbox change → first DETAILED lookup showing it)",
                     f"p50 {w['p50']:.0f} ms · p95 {w['p95']:.0f} ms (n={w['n']}, missed {w['missed']})"
                     if w else NOT_BUILT, "≤ 1 s"))
    return rows


#: the cold rows' targets, as multiples of the measured round trip
COLD_TARGETS = {"fully cold": 2.2, "catalogue cached": 2.1, "12 subscriptions on 4 orders": 2.5}
#: the in-process catalogue-cached case again with the sandbox sharing the API's CPUs: no target
SHARING_CASE = "catalogue cached, sandbox sharing the CPUs (for comparison)"


def cold_rows(r: dict[str, Any], cold_by_endpoint: dict[str, Any], where: str,
              sandbox_cpus: list[int] | None = None) -> list[Row]:
    """One row per cold case (:data:`COLD_TARGETS`), each judged as a multiple of the measured round
    trip; ``sandbox_cpus``: the sandbox ran on CPUs of its own (all cases but :data:`SHARING_CASE`)."""
    rtt = r.get("rtt_measured_ms") or r["latency_ms"]
    rows: list[Row] = []
    for name, c in cold_by_endpoint.items():
        multiple = c["median_ms"] / rtt
        endpoints = ", ".join(f"{e} {n:g}" for e, n in c["by_endpoint"].items())
        target = COLD_TARGETS.get(name)
        place = f"{where}, sandbox on its own CPU" if sandbox_cpus and name != SHARING_CASE else where
        rows.append((f"Cold DETAILED, {name}, {place}, median of {c['runs']} (× measured {rtt:.0f} ms round trip)",
                     f"{c['median_ms']:.0f} ms = {multiple:.2f}× · {c['requests']:g} upstream: {endpoints}",
                     "—" if target is None else verdict(multiple <= target, f"≤ {target}×")))
    return rows


#: the share of the diskcache warm throughput the instance on Redis and PostgreSQL must reach
SHARED_TARGET_SHARE = 0.8
SHARED_THROUGHPUT = ("Throughput, 16 concurrent signed clients, warm — cache on local Redis, events in local "
                     "PostgreSQL (OGTK_CACHE_URL, OGTK_EVENTS_URL)")
SHARED_WHERE = "in-process on local Redis + PostgreSQL"


def shared_backend_rows(r: dict[str, Any]) -> list[Row]:
    """The warm throughput (judged against a diskcache instance measured alternately with it) and
    the cold rows with the cache on Redis and the events in PostgreSQL; "skipped" with the reason
    without them."""
    shared = r.get("shared_backends")
    if shared is None:
        return []
    target = f"≥ {SHARED_TARGET_SHARE:.0%} of diskcache"
    if "skipped" in shared:
        reason = f"skipped: {shared['skipped']}"
        return [(SHARED_THROUGHPUT, reason, target), (f"Cold DETAILED, {SHARED_WHERE}", reason, "—")]
    t, disk = shared["shared"], shared["diskcache"]
    share = t.rps / disk.rps if disk.rps else None
    against = f" = {share:.0%} of diskcache ({disk.rps:,.0f}/s, measured alternately)" if share is not None else ""
    rows = [(SHARED_THROUGHPUT,
             f"{t.rps:,.0f} lookups/s{against} · {ms3(t.p50_ms, t.p95_ms, t.p99_ms)} · non-2xx {t.non_2xx}",
             verdict(None if share is None else share >= SHARED_TARGET_SHARE and t.non_2xx == 0, target))]
    return rows + cold_rows(r, shared["cold_by_endpoint"], SHARED_WHERE, shared.get("sandbox_cpus"))


def short_frame(label: str) -> str:
    """``func (app/x.py:12)`` → ``x.func``; anything else unchanged."""
    match = re.match(r"(\S+) \((?:.*/)?([\w.]+)\.py:\d+\)", label)
    return f"{match.group(2)}.{match.group(1)}" if match else label


def sweep_rows(sweep: Sequence[dict[str, Any]]) -> list[Row]:
    rows = []
    for item in sweep:
        t = item["result"]
        rows.append((item["config"], f"{t.rps:,.0f} lookups/s", f"p50 {t.p50_ms:.1f} · p99 {t.p99_ms:.1f} ms · "
                                                                 f"non-2xx {t.non_2xx} · socket errors {t.socket_errors}"))
    return rows


def machine_line(m: dict[str, str]) -> str:
    return f"{m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, {m['date']}"


def bench_markdown(r: dict[str, Any]) -> str:
    parts = ["# Benchmark", "", f"Machine: {machine_line(r['machine'])}. Sandbox latency {r['latency_ms']:g} ms per "
             f"request (measured direct round trip {r.get('rtt_measured_ms', 0):.1f} ms).", "",
             format_table(bench_rows(r))]
    if r.get("sweep"):
        parts += ["", "## gunicorn settings tried (16 concurrent clients, warm)", "",
                  format_table(sweep_rows(r["sweep"]), header=("Setting", "Throughput", "Latency"))]
    if r.get("profile"):
        p = r["profile"]
        parts += ["", f"## Warm path profile ({p.lookups:,} in-process lookups, {p.seconds:.2f} s)", "",
                  "Our modules, charged with the library calls below them:", ""]
        parts += [f"- {share:5.1%} {name}" for name, share in p.top_module]
        parts += ["", "Our functions, charged with the library calls below them:", ""]
        parts += [f"- {share:5.1%} {name}" for name, share in p.top_app]
        parts += ["", "Hottest frames by self time:", ""]
        parts += [f"- {share:5.1%} {name}" for name, share in p.top_self]
    if r.get("link_health"):
        lh = r["link_health"]
        parts += ["", f"## Link-health queries ({lh['events']:,} events, database {lh['db_bytes'] / 1e6:.0f} MB)", ""]
        parts += [format_table([(name, f"{secs * 1000:.1f} ms", f"{lh['first_pass_s'].get(name, 0) * 1000:.1f} ms")
                                for name, secs in lh["queries_s"].items()],
                               header=("Query", "Time", "First pass"))]
    if r.get("notes"):
        parts += ["", "## Notes", ""] + [f"- {note}" for note in r["notes"]]
    return "\n".join(parts) + "\n"


def latency_chart(path: Path, r: dict[str, Any]) -> Path | None:
    """Warm in-process latency histogram, and p50/p95/p99 per way of calling; Agg backend, PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    samples = r.get("inproc_samples_ms") or []
    if samples:
        cut = sorted(samples)[int(len(samples) * 0.995) - 1] if len(samples) > 10 else max(samples)
        left.hist([s for s in samples if s <= cut], bins=60, color="#4C72B0")
        for p, style in (("p50", "-"), ("p95", "--"), ("p99", ":")):
            value = r["inproc_warm"][p]
            left.axvline(value, color="black", linestyle=style, label=f"{p} {value:.2f} ms")
        left.set_title("Warm DETAILED lookup, in-process")
        left.set_xlabel("ms")
        left.set_ylabel("lookups")
        left.legend()
    groups = []
    if "inproc_warm" in r:
        w = r["inproc_warm"]
        groups.append(("in-process", (w["p50"], w["p95"], w["p99"])))
    if "gunicorn_warm" in r:
        g = r["gunicorn_warm"]
        groups.append(("gunicorn\n1 client", (g.p50_ms, g.p95_ms, g.p99_ms)))
    if "throughput" in r:
        t = r["throughput"]
        groups.append(("gunicorn\n16 clients", (t.p50_ms, t.p95_ms, t.p99_ms)))
    if "best" in r and r["best"]:
        t = r["best"]["result"]
        groups.append((f"best setting\n16 clients", (t.p50_ms, t.p95_ms, t.p99_ms)))
    width = 0.25
    for i, label in enumerate(("p50", "p95", "p99")):
        xs = [j + (i - 1) * width for j in range(len(groups))]
        right.bar(xs, [values[i] for _, values in groups], width, label=label)
    right.set_xticks(range(len(groups)))
    right.set_xticklabels([name for name, _ in groups])
    right.set_ylabel("ms")
    right.set_yscale("log")
    right.set_title("Warm lookup latency percentiles")
    right.legend()
    fig.suptitle(f"ogtk bench — {machine_line(r['machine'])}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def readme_section(bench_md: str | None, soak_md: str | None) -> str:
    """The generated "Performance and resilience" section (headings demoted below README's).

    ``make bench`` and ``make soak`` both write it from the two reports alone, so either makes
    the same section; the bench report's own "Machine:" line says where it was measured."""
    lines = ["## Performance and resilience", "",
             "_Generated by `make bench` (and `make soak`); do not edit by hand._", ""]
    bench_md = _until(bench_md, ("## Warm path profile", "## Link-health queries")) if bench_md else None
    soak_md = _until(soak_md, ("\n## ",)) if soak_md else None
    if bench_md:
        body = [line for line in bench_md.splitlines() if not line.startswith("# Benchmark")]
        lines += [("#" + line) if line.startswith("## ") else line for line in body]
    if soak_md:
        lines += ["", "### Last `make soak`", ""]  # details: var/bench/soak.md
        lines += [("##" + line) if line.startswith("## ") else line
                  for line in soak_md.splitlines() if not line.startswith("# ")]
    lines += ["", "Details (profile, link-health query times, soak checks): `var/bench/report.md`, "
              "`var/bench/soak.md`."]
    text = "\n".join(lines).strip()
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text + "\n"


def _until(text: str, markers: tuple[str, ...]) -> str:
    """``text`` up to the first of ``markers`` (the README keeps the tables, not the details)."""
    cut = min((i for i in (text.find(m) for m in markers) if i >= 0), default=len(text))
    return text[:cut].rstrip() + "\n"


def update_readme(readme: Path, section: str) -> bool:
    """Replace the text between the performance markers; False (README untouched) without markers."""
    text = readme.read_text()
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        return False
    new = text[: start + len(START)] + "\n" + section.rstrip("\n") + "\n" + text[end:]
    if new != text:
        readme.write_text(new)
    return True
