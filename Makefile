# Planning Poker and its delivery pipeline. `make demo` and `make test` are the two commands.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PY_PKGS := app/src/planning_poker pipeline/src/kargo checks/src/poker_checks

.PHONY: setup demo down test lint unit bench lock check-locks chaos

setup:
	@bash scripts/bootstrap.sh

demo: setup
	@$(BIN)/python scripts/demo.py up

down: setup
	@$(BIN)/python scripts/demo.py down

check-locks: setup
	@$(BIN)/python scripts/check_locks.py

lint: setup check-locks
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(PY_PKGS)
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

# More rounds of the fault and fuzz tests than `make test` runs (docs/reliability.md).
# FAULT_SEED=N replays one seed; FAULT_ROUNDS, FAULT_DEPLOYS and FUZZ_EXAMPLES set the rounds.
# With FAULT_ROUNDS set the tests marked `chaos` run too (make test leaves them out).
chaos: setup
	FAULT_ROUNDS=$${FAULT_ROUNDS:-25} FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-2000} $(BIN)/pytest tests/faults tests/fuzz -v -s

bench: setup
	@for script in $(filter-out bench/support.py,$(wildcard bench/*.py)); do \
		echo "== $$script"; $(BIN)/python $$script || exit 1; done

lock:
	$(UV) pip compile --quiet --generate-hashes --python-version 3.11 app/pyproject.toml -o app/requirements.lock
	$(UV) pip compile --quiet --generate-hashes --python-version 3.11 app/pyproject.toml pipeline/pyproject.toml checks/pyproject.toml requirements-dev.in -o requirements.lock
