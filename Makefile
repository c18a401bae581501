# ClickMe: `make run` serves the game on a fresh machine; `make test` runs the whole suite; `make
# test-sqlite` runs it on the embedded default (SQLite, no Redis) without the slow and browser tests.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
export PYTHONUNBUFFERED := 1

.PHONY: run test test-sqlite venv deps dev-deps services lint bench clean

$(VENV)/.installed: requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) is missing (ClickMe needs Python 3.11)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "==> installing the pinned requirements into $(VENV) (a few minutes the first time)"
	$(PIP) install --progress-bar on --upgrade pip
	$(PIP) install --progress-bar on -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	@echo "==> installing the development requirements into $(VENV)"
	$(PIP) install --progress-bar on -r requirements-dev.txt
	@touch $@

deps: $(VENV)/.installed
dev-deps: $(VENV)/.dev-installed

run: deps
	@PORT=$(PORT) PY=$(PY) bash scripts/run.sh

test: dev-deps
	@bash scripts/test.sh

test-sqlite: dev-deps
	@bash scripts/test.sh --sqlite

lint: dev-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: dev-deps
	$(PY) bench/partner_latency.py

clean:
	rm -rf var .pytest_cache
