# ConvNet X-Ray: the commands a reader or a maintainer needs. `make help` lists them.
#
# Every target works from a fresh clone: the first one that needs Python creates .venv with
# python3.11 (or python3) and installs the course into it (`pip install -e ".[dev]"`). A stamp
# file inside .venv remembers that install, so later runs reinstall only when pyproject.toml
# has changed since.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.convnet-xray-installed
# The interpreter that creates .venv; override with `make test PYTHON=/path/to/python3.11`.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
endif
# Quiet-ish: pip prints warnings and errors, not its progress. Use PIP_QUIET= for everything.
PIP_QUIET ?= --quiet
# Lines dropped from pip's output: warnings about unreachable extra package indexes that some
# machines' pip configuration names. Everything else pip says (errors included) is shown, and
# pip's exit status is kept (pipefail).
PIP_NOISE := is ignored: it is neither a file nor a directory
# Extra arguments: `make train ARGS="--models vgg_gap --epochs 2"`, `make test PYTEST_ARGS=-x`,
# `make lab ARGS="--no-browser --port 8899"`.
ARGS ?=
PYTEST_ARGS ?=
NBVAL_ARGS ?= --nbval-cell-timeout=900

# Headless and quiet for the unit tests and the benchmarks.
HEADLESS_ENV := MPLBACKEND=Agg TF_CPP_MIN_LOG_LEVEL=2
# The notebook kernel must draw figures the way Jupyter does (inline PNG + "<Figure ...>" text):
# with MPLBACKEND=Agg a cell's figures would vanish and strict nbval would report missing outputs.
NBVAL_ENV := MPLBACKEND=module://matplotlib_inline.backend_inline TF_CPP_MIN_LOG_LEVEL=2

.PHONY: help venv lab test unit-test nbval benchmark train clean distclean

help:
	@echo "ConvNet X-Ray"
	@echo "  make lab        open the course in JupyterLab (creates .venv on first use)"
	@echo "  make test       unit tests, then every notebook re-run and compared (nbval)"
	@echo "  make benchmark  time and compare the explanation methods (python -m helpers.benchmarks)"
	@echo "  make train      retrain the bundled models into data/models (python -m helpers.train)"
	@echo "  make clean      remove caches and build leftovers (make distclean: also .venv)"

$(PY):
	@if [ -z "$(PYTHON)" ]; then echo "make: no python3.11 or python3 on PATH; install Python 3.11." >&2; exit 1; fi
	@echo "Creating $(VENV) with $(PYTHON) ($$($(PYTHON) --version 2>&1))"
	$(PYTHON) -m venv $(VENV)

# Reinstall when pyproject.toml is newer than the stamp (or the stamp is missing).
$(STAMP): pyproject.toml | $(PY)
	@echo "Installing convnet-xray and its pinned dependencies into $(VENV) (first time: several minutes)"
	$(PY) -m pip install $(PIP_QUIET) --disable-pip-version-check -e ".[dev]" 2>&1 \
		| { grep -v -F "$(PIP_NOISE)" || true; }
	@touch $@

venv: $(STAMP)

# Jupyter refuses to start as root (containers, some cloud machines) unless told it may.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/ $(ALLOW_ROOT) $(ARGS)

test: unit-test nbval

unit-test: $(STAMP)
	$(HEADLESS_ENV) $(BIN)/python -m pytest tests $(PYTEST_ARGS)

nbval: $(STAMP)
	@if compgen -G "notebooks/*.ipynb" > /dev/null; then \
		echo "$(NBVAL_ENV) $(BIN)/python -m pytest --nbval --nbval-current-env notebooks/ --nbval-sanitize-with tests/nbval_sanitize.cfg $(NBVAL_ARGS) $(PYTEST_ARGS)"; \
		$(NBVAL_ENV) $(BIN)/python -m pytest --nbval --nbval-current-env notebooks/ \
			--nbval-sanitize-with tests/nbval_sanitize.cfg $(NBVAL_ARGS) $(PYTEST_ARGS); \
	else \
		echo "make test: notebooks/ has no .ipynb yet; skipping the notebook (nbval) step."; \
	fi

benchmark: $(STAMP)
	$(HEADLESS_ENV) $(PY) -m helpers.benchmarks $(ARGS)

train: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m helpers.train $(ARGS)

# Never touches data/ (the bundled models and photos are part of the course).
clean:
	find . \( -path ./$(VENV) -o -path ./.git \) -prune -o -type d \( -name __pycache__ -o -name .ipynb_checkpoints \) -prune -exec rm -rf {} +
	rm -rf .pytest_cache build *.egg-info

distclean: clean
	rm -rf $(VENV)
