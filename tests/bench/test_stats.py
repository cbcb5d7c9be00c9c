"""Percentiles used by the benchmark table."""

import pytest

from app.bench.stats import median, percentile, summarize_ms


@pytest.mark.parametrize("p, expected", [(0, 1.0), (50, 2.5), (100, 4.0), (25, 1.75)])
def test_percentile_interpolates(p, expected):
    assert percentile([4, 1, 3, 2], p) == pytest.approx(expected)


def test_percentile_of_nothing_is_zero_and_bad_p_raises():
    assert percentile([], 50) == 0.0
    with pytest.raises(ValueError):
        percentile([1], 101)


def test_summarize_ms_converts_seconds():
    summary = summarize_ms([0.001, 0.002, 0.003])
    assert summary["n"] == 3
    assert summary["p50"] == pytest.approx(2.0)
    assert summary["max"] == pytest.approx(3.0)
    assert median([5, 1, 3]) == 3
