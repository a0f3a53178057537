# newsdigest: `make run` sets up and digests the seeds; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Prefect's environment defaults are set in flows/__init__.py (one place).

.PHONY: run test lint format bench gate lock clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)  ## ingest seeds/, group, summarize, write digests/
	$(BIN)/newsdigest run

test: $(STAMP)  ## the whole test suite
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)  ## benchmarks and quality evaluations (minutes; not run by CI)
	$(BIN)/python bench/grouping.py
	$(BIN)/python bench/summaries.py
	$(BIN)/python bench/extraction.py

gate: $(STAMP)  ## evaluation gate: a slice of each benchmark against bench/floors.toml (CI)
	$(BIN)/python bench/gate.py

lock: $(STAMP)  ## re-pin every dependency after changing pyproject.toml
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > requirements.lock

clean:
	rm -rf $(VENV) digests newsdigest.db newsdigest.db-*
