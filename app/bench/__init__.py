"""Benchmarks and resilience checks: ``make bench`` (``python -m app.bench``) and ``make soak``.

``processes`` starts the sandbox and the API under gunicorn on loopback, ``loadgen`` drives
them (wrk for throughput, a thread pool for checked traffic), ``measure`` and ``profile`` take the
numbers, ``scenarios`` holds the resilience scenarios shared by ``soak`` and the fast tests, and
``report`` writes the table, the chart and the README's performance section.
"""
