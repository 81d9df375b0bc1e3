# Shortcuts; each target sets up .venv first if needed (see scripts/setup.sh).
VENV ?= .venv

.PHONY: setup demo test test-fast lint

$(VENV)/.installed: pyproject.toml scripts/setup.sh
	VENV=$(VENV) ./scripts/setup.sh

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/adrec demo

test: setup
	$(VENV)/bin/python -m pytest

test-fast: setup
	$(VENV)/bin/python -m pytest -m "not slow"

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks scripts
