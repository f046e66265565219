# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck install services browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Run the main job on the bundled example scans (no servers) and show the results.
demo: install
	rm -f var/demo.db
	mkdir -p var
	DIGITIZE_DATABASE_URL=sqlite:///var/demo.db $(BIN)/digitize process examples/ --template examples/templates
	DIGITIZE_DATABASE_URL=sqlite:///var/demo.db $(BIN)/digitize results --format table

## Debian's Chromium for the browser tests (Playwright drives it; its own download cannot work here).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

## Start Redis and PostgreSQL if they are down (the tests use the real servers).
services:
	@bash .ci/services

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

typecheck: install
	$(BIN)/mypy

## Create .venv, install, run the whole test suite.
test: install services browser
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
