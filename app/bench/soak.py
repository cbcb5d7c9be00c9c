"""``make soak`` (``python -m app.bench.soak``): the resilience suite, bounded in time, loopback only.

Runs every scenario of :mod:`app.bench.scenarios` at full size against one sandbox: Ordergroove
failing (30% 5xx + 10% 429) and hanging under 16 concurrent clients, a gunicorn worker killed
mid-load, the data directory full and then read-only, a burst of 1,000 bad requests, and a local
Redis or PostgreSQL (``OGTK_CACHE_URL``/``OGTK_EVENTS_URL``) stopped mid-load and started again. Prints
and writes ``var/bench/soak.md`` (requests, answers by status, deadline misses, events recorded,
checks) and exits non-zero when any scenario misses its bounds.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Sequence

from ..processes import ROOT, SandboxProcess
from . import report, scenarios
from .measure import machine
from .scenarios import ScenarioResult, Sizes

OUT = ROOT / "var" / "bench"


def say(text: str) -> None:
    print(f"[soak] {text}", flush=True)


def soak_markdown(results: Sequence[ScenarioResult], sizes: Sizes, took: float) -> str:
    m = machine()
    passed = sum(r.ok for r in results)
    skipped = sum(r.skipped is not None for r in results)
    lines = ["# Soak", "",
             f"{report.machine_line(m)}; OGTK_LOOKUP_DEADLINE_S={sizes.deadline_s:g} (deadline miss: answer slower "
             f"than {sizes.deadline_s + 0.5:g} s), {sizes.concurrency} concurrent clients, {took:.0f} s in all. "
             f"**{passed}/{len(results) - skipped} scenarios passed**"
             + (f", {skipped} skipped" if skipped else "") + ".", ""]
    rows = []
    for r in results:
        verdict = "skipped" if r.skipped else ("✅ pass" if r.ok else "❌ FAIL")
        events = "—" if r.events_recorded is None else str(r.events_recorded)
        rows.append((r.name, str(r.sent), r.statuses(), str(r.deadline_misses), events, f"{r.seconds:.0f} s", verdict))
    lines.append(report.format_table(rows, header=("Scenario", "Sent", "Answers by status", "Deadline misses",
                                                   "Events recorded", "Time", "Result")))
    for r in results:
        lines += ["", f"## {r.name}", ""]
        if r.skipped:
            lines.append(f"- skipped: {r.skipped}")
        for description, ok, detail in r.checks:
            lines.append(f"- {'✅' if ok else '❌'} {description} — {detail}")
        lines += [f"- note: {note}" for note in r.notes]
    return "\n".join(lines) + "\n"


def run_scenarios(sandbox, sizes: Sizes, work: Path, names: Sequence[str] | None = None) -> list[ScenarioResult]:
    results = []
    for scenario in scenarios.ALL:
        if names and scenario.__name__ not in names:
            continue
        say(f"{scenario.__name__}: {(scenario.__doc__ or '').strip().splitlines()[0]}")
        began = time.monotonic()
        try:
            result = scenario(sandbox, sizes, work)
        except Exception as exc:  # a scenario that cannot run fails, with the reason
            result = ScenarioResult(scenario.__name__)
            result.check("scenario ran to the end", False, f"{type(exc).__name__}: {str(exc)[:500]}")
            traceback.print_exc()
            result.seconds = time.monotonic() - began
        say(f"  → {'skipped: ' + result.skipped if result.skipped else ('pass' if result.ok else 'FAIL')} "
            f"({result.sent} sent; {result.statuses()}; {result.deadline_misses} deadline misses; "
            f"{result.seconds:.0f} s)")
        for failure in result.failures():
            say(f"    ✗ {failure}")
        results.append(result)
    return results


def refresh_readme(out: Path, markdown: str, readme: Path = ROOT / "README.md") -> bool:
    """Put this soak in README's performance section, beside the bench report found in ``out``.

    The section is regenerated whole, so without a report (a fresh clone before ``make bench``,
    or a scratch ``--out``) it would lose the bench table README already shows: then README is
    left alone, and ``make bench`` later shows this soak with its own table."""
    bench = out / "report.md"
    if not bench.exists():
        return False
    return report.update_readme(readme, report.readme_section(bench.read_text(), markdown))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="run only these scenarios: "
                        + ", ".join(s.__name__ for s in scenarios.ALL))
    parser.add_argument("--lookups", type=int, default=Sizes.lookups)
    parser.add_argument("--hang-seconds", type=float, default=Sizes.hang_seconds)
    parser.add_argument("--malformed", type=int, default=Sizes.malformed)
    parser.add_argument("--deadline-s", type=float, default=Sizes.deadline_s)
    parser.add_argument("--workers", type=int, default=None, help="OGTK_WORKERS (default: gunicorn.conf.py's)")
    parser.add_argument("--threads", type=int, default=None, help="OGTK_THREADS (default: gunicorn.conf.py's)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--no-readme", action="store_true", help="do not refresh README's performance section")
    args = parser.parse_args(argv)
    sizes = Sizes(lookups=args.lookups, hang_seconds=args.hang_seconds, malformed=args.malformed,
                  deadline_s=args.deadline_s, workers=args.workers, threads=args.threads)
    began = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="ogtk-soak-"))
    try:
        with SandboxProcess(latency_ms=20, log_path=work / "sandbox.log") as sandbox:
            results = run_scenarios(sandbox, sizes, work, args.only)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    markdown = soak_markdown(results, sizes, time.monotonic() - began)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "soak.md").write_text(markdown)
    print()
    print(markdown)
    if not args.no_readme and not args.only:
        if refresh_readme(args.out, markdown):
            say("README.md performance section refreshed with this soak summary")
        else:
            say(f"README.md left as it is: no make bench report in {args.out} to show beside the soak")
    failed = [r.name for r in results if not r.ok and not r.skipped]
    if failed:
        say(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
