# Two entry points for a fresh machine: `make demo` and `make test` (the full suite, what CI runs);
# `make check` is the fast tier for the edit loop (tests not marked slow).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test check lint bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m restore.demo

test: $(STAMP)
	$(PY) -m pytest

check: $(STAMP)
	$(PY) -m pytest -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check restore data_prep evaluation tests tools

bench: $(STAMP)
	$(PY) -m evaluation bench

clean:
	rm -rf $(VENV) demo_out .pytest_cache
