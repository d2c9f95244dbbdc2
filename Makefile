# The README's two commands: `make demo` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/var/dagster_home
export PLATFORM_DATA_DIR ?= $(CURDIR)/var/data
# Debian packages the tests need (issue 8 adds chromium for the UI test).
SYSTEM_PACKAGES := chromium

.PHONY: setup demo dev test lint system-deps clean

$(VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Bytecode for the code location, written on every setup (compileall skips what is current): each
# run worker imports ~170 platform modules, and where PYTHONDONTWRITEBYTECODE=1 stops Python from
# caching them it would compile them all again on every load (a third of Dagster's own import).
setup: $(VENV)/.installed
	$(BIN)/python -m compileall -q platform_assets > /dev/null

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

## Set up, then run the platform's main job on the embedded default and print what it made.
demo: setup $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/platform-assets demo

## Open the Dagster UI (webserver + daemon) on the same instance as the demo, through `dg`
## (pyproject.toml's [tool.dg] names the code location). The running sensors and schedules start
## work at once: see the README's "make dev" notes.
dev: setup $(DAGSTER_HOME)/dagster.yaml
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg dev

## Debian packages the test suite needs (idempotent; skipped when already present).
system-deps:
	bash scripts/install-system-deps.sh $(SYSTEM_PACKAGES)

## Set up, then run the whole test suite (what CI runs), on every core (pytest-xdist; a module's tests
## stay on one worker so its servers start once).
test: setup system-deps
	$(BIN)/pytest --numprocesses=auto --maxprocesses=4 --dist=loadscope

lint: setup
	$(BIN)/ruff check platform_assets platform_assets_tests benchmarks

clean:
	rm -rf $(VENV) var
