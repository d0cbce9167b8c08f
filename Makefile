# Caseline — the two commands that matter are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install browser run test test-fast lint translations bench bench-quick bench-names bench-ledger bench-registry faults compose-test schemas clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## the virtual environment in .venv with Caseline and its tools

browser:  ## Debian's chromium for the console's browser tests (they skip, saying why, without it)
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
		|| apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
		|| sudo -n apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
		|| echo "no chromium could be installed: the console's browser tests will skip"

run: install  ## the stack (embedded PostgreSQL and NATS unless configured) plus a demo case
	$(BIN)/caseline up --demo

# The suite runs on every core (at most four), each worker with its own PostgreSQL and NATS;
# `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= auto

test: install browser  ## the whole suite against real PostgreSQL and NATS, on every core
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --maxprocesses 4 --dist worksteal

test-fast: install  ## domain and application tests on in-memory persistence, no server: seconds
	$(BIN)/python -m pytest tests/unit -q

lint: install  ## ruff (check and format), the import contracts (lint-imports) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

translations: install  ## extract the messages people read; new ones await French and Arabic in shared/locale
	$(BIN)/caseline i18n-extract

bench: install  ## benchmarks with raw limits in the same run; appends to bench/RESULTS.md
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-quick: install  ## the same benchmarks, short (under two minutes)
	$(BIN)/python -m bench --quick

bench-names: install  ## the persons' blind index: recall, false candidates, speed (no servers)
	$(BIN)/python -m bench.names $(BENCH_ARGS)

bench-ledger: install  ## the ledger's intake alone, beside a bare batched insert of its rows
	$(BIN)/python -m bench.ledger_intake $(BENCH_ARGS)

bench-registry: install  ## the persons' registry in PostgreSQL at 10,000 to 100,000 persons: an arrest's search and write
	$(BIN)/python -m bench.registry $(BENCH_ARGS)

faults: install  ## the fault suite: crashes and outages under load, nothing lost or duplicated
	$(BIN)/python -m pytest -m faults --run-faults

compose-test: install  ## the compose stack in containers: built, started, attacked, restored, upgraded (root; ~25 min)
	PIP=$(BIN)/pip sh tests/compose/prepare.sh
	CASELINE_COMPOSE_TEST=1 $(BIN)/python -m pytest tests/compose -v $(PYTEST_ARGS)

schemas: install  ## regenerate JSON Schemas and deploy/asyncapi.yaml from the catalogue
	$(BIN)/caseline asyncapi

clean:  ## remove .venv, var/ and the test caches
	rm -rf $(VENV) var .pytest_cache .hypothesis

help:  ## these targets, with what each does
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  \1\t/' | expand -t 14
