# Two commands on a fresh machine with Python >= 3.11, make and git:
#   make demo   create .venv, install, start the app on the built-in demo plant
#   make test   create .venv, install the dev extras, run lint, import contracts, mypy and the whole suite headless
# Both are idempotent: the install steps rerun only when pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
PEERS_STAMP := tests/peers/node_modules/.installed
PYTEST_ARGS ?=

.PHONY: demo test lint install clean fuzz

demo: $(STAMP)
	$(BIN)/hmi demo

test: $(DEV_STAMP) $(PEERS_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest $(PYTEST_ARGS)

# A long run of the project-file fuzzer (tests/check_fuzzer.py): fresh mutants each time, under a 2 GB
# memory limit. FUZZ_EXAMPLES=100000 for a night; a failure prints the mutant and how to replay it.
# Then the decoder and loader fuzz tests (tests/test_fuzz_*.py) with FUZZ_SCALE times their suite examples.
FUZZ_EXAMPLES ?= 20000
FUZZ_SCALE ?= 20
fuzz: $(DEV_STAMP)
	ulimit -v 2097152 && QT_QPA_PLATFORM=offscreen $(BIN)/python tests/check_fuzzer.py --examples $(FUZZ_EXAMPLES)
	ulimit -v 4194304 && HMI_FUZZ_SCALE=$(FUZZ_SCALE) QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_fuzz_opcua_values.py tests/test_fuzz_modbus_wire.py tests/test_fuzz_project_files.py

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

install: $(STAMP)

# Test peers from npm (node-opcua...). Without npm the interop tests skip locally and fail on CI.
$(PEERS_STAMP): $(wildcard tests/peers/package.json tests/peers/package-lock.json)
	@if [ -f tests/peers/package.json ] && command -v npm >/dev/null 2>&1; then \
		npm install --prefix tests/peers --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm or tests/peers/package.json missing: interop peers not installed"; fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
