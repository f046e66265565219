# Two commands for a fresh machine: `make demo` and `make test`.
# Both install from the committed lock (requirements/dev.txt: every package pinned, with hashes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LATEST := .venv-latest
COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links

.PHONY: demo test check test-latest lint typecheck install lock services browser clean

# A new lock means a new environment: nothing left over from an older resolution survives.
$(STAMP): requirements/dev.txt pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip check
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

## The fast inner loop (under a minute): lint, types, and the tests that need no server and no
## long run (the others carry the markers postgres, redis, browser or slow; `make test` runs all).
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -m "not (postgres or redis or browser or slow)" --durations=5

## Create .venv, install from the lock, run the whole test suite.
test: install services browser
	$(BIN)/python -m pytest --durations=15

## Re-resolve the lock to the newest versions pyproject.toml allows (requirements/pins.txt holds
## deliberate exceptions). Commit the result only after `make test` passes on it.
lock: install
	$(COMPILE) --upgrade --all-extras -c requirements/pins.txt -o requirements/dev.txt pyproject.toml
	$(COMPILE) --upgrade -c requirements/dev.txt -o requirements/runtime.txt pyproject.toml

## The same tests in a fresh environment resolved without the lock: the newest release of every
## range (OpenCV 5 today). Run it before widening a range, and now and then to meet new releases
## before users do.
test-latest: services browser
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/pip install --quiet --upgrade pip setuptools wheel
	$(LATEST)/bin/pip install --quiet --upgrade -e '.[train,dev]'
	$(LATEST)/bin/pip list --format=freeze | grep -i -E '^(opencv|numpy|openvino|tensorflow|celery|sqlalchemy|pillow)'
	TEST_LATEST=1 $(LATEST)/bin/python -m pytest --durations=15

clean:
	rm -rf $(VENV) $(LATEST) var .pytest_cache .mypy_cache .ruff_cache
