# The two commands of README: `make run` and `make test`. Both build on `make setup`, which is
# idempotent: system packages if missing, the venv, the local Kafka + Redis, the topics.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup system-deps install services topics run run-secure test check lint typecheck format down clean

setup: system-deps install services topics

system-deps:
	@bash scripts/install-system-deps.sh

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -e ./clients/python
	touch $@

services: install
	$(BIN)/ledger services up

topics: services
	$(BIN)/ledger topics ensure

run: setup
	$(BIN)/ledger run

# The same ledger on the secure stack (TLS, SCRAM users, ACLs, HTTPS), each process as its own
# principal. Stop the everyday stack first (`make down`): both use the same ports.
run-secure: system-deps install
	$(BIN)/ledger run --secure

test: setup
	$(BIN)/pytest

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

check: lint typecheck test

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

down:
	@if [ -x $(BIN)/ledger ]; then $(BIN)/ledger services down; fi

clean: down
	rm -rf .devstack $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
