"""``make soak`` refreshes README's performance section only beside a bench report."""

from __future__ import annotations

from app.bench.soak import refresh_readme

README = "# Toolkit\n\n<!-- performance:start -->\nthe bench table README shows\n<!-- performance:end -->\n\nafter\n"
SOAK = "# Soak\n\n**7/7 scenarios passed**.\n\n## Details\n\nnot in README\n"


def test_without_a_bench_report_the_readme_keeps_its_table(tmp_path):
    """A fresh clone, or a scratch --out: regenerating would have dropped the bench table."""
    readme = tmp_path / "README.md"
    readme.write_text(README)
    assert not refresh_readme(tmp_path / "scratch", SOAK, readme)
    assert readme.read_text() == README


def test_beside_a_bench_report_both_are_shown(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(README)
    out = tmp_path / "bench"
    out.mkdir()
    (out / "report.md").write_text("# Benchmark\n\n| Measurement | Result |\n|---|---|\n| cold | 2.18× |\n")
    assert refresh_readme(out, SOAK, readme)
    text = readme.read_text()
    assert "| cold | 2.18× |" in text and "**7/7 scenarios passed**" in text
    assert "the bench table README shows" not in text and "not in README" not in text
    assert "`var/bench/soak.md`" in text and text.endswith("<!-- performance:end -->\n\nafter\n")
