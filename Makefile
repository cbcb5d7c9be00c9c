# Ordergroove–Gladly toolkit: the commands an operator and CI need.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: test run bench soak sandbox clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

venv: $(STAMP)

## make test: fresh venv if needed, then the whole suite
test: $(STAMP)
	$(PY) -m pytest -q

## make run: sandbox + API + simulated Gladly traffic + dashboard
run: $(STAMP)
	$(PY) -m app.demo

## make bench: the performance table (CONTRACT section 7)
bench: $(STAMP)
	$(PY) -m app.bench

## make soak: the full resilience suite (bounded in time, loopback only)
soak: $(STAMP)
	$(PY) -m app.bench.soak

sandbox: $(STAMP)
	$(PY) -m app.sandbox --port 8700

clean:
	rm -rf $(VENV) var .pytest_cache

## make run-cluster: sandbox + Redis + PostgreSQL + two API instances + burst + dashboard
.PHONY: run-cluster
run-cluster: $(STAMP)
	$(PY) -m app.cluster
