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

# make test-colab: a second environment pinned to Colab's runtime (constraints/colab.txt), with
# the course installed as the notebooks' Setup cell installs it, and the test tools of the dev
# pins (not tf-keras-vis, which Colab lacks: its tests skip; not playwright).
COLAB_VENV ?= .venv-colab
COLAB_PY := $(COLAB_VENV)/bin/python
COLAB_STAMP := $(COLAB_VENV)/.convnet-xray-installed
COLAB_CONSTRAINTS := constraints/colab.txt
# What the Colab image also ships and the course imports; the newest releases that fit the pins.
COLAB_ALSO := pillow tqdm ipykernel

.PHONY: help venv lab test unit-test nbval execute benchmark train clean distclean colab-links test-colab test-browser \
	lint test-fast

help:
	@echo "ConvNet X-Ray"
	@echo "  make lab        open the course in JupyterLab (creates .venv on first use)"
	@echo "  make test       unit tests, then every notebook re-run and compared (nbval)"
	@echo "  make test-fast  the unit tests without the slow ones (the edit-test loop, about 2 minutes)"
	@echo "  make lint       ruff (pyproject.toml [tool.ruff]) over helpers/, tests/ and tools/"
	@echo "  make test-colab the same on Colab's runtime (constraints/colab.txt); notebooks must run without error"
	@echo "  make test-browser  JupyterLab in Debian's chromium: notebooks 01 and 03, every explorer control"
	@echo "  make execute    re-execute notebooks in place (NB=notebooks/03_class_activation_maps.ipynb for one)"
	@echo "  make colab-links   write pyproject's repository URL into badges, Setup cells and README"
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

# The notebooks are trusted first: JupyterLab shows the stored widget pictures (the explorers)
# only in trusted notebooks; untrusted, a fresh clone shows "VBox(children=(HBox(..." instead.
# On a machine without a display: make lab ARGS="--no-browser" (then open the printed URL).
lab: $(STAMP)
	$(BIN)/jupyter trust notebooks/*.ipynb
	$(BIN)/jupyter lab notebooks/ $(ALLOW_ROOT) $(ARGS)

test: unit-test nbval

unit-test: $(STAMP)
	$(HEADLESS_ENV) $(BIN)/python -m pytest tests $(PYTEST_ARGS)

# The edit-test loop: every unit test not marked slow (pyproject.toml lists the markers).
test-fast: $(STAMP)
	$(HEADLESS_ENV) $(BIN)/python -m pytest tests -m "not slow" -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/python -m ruff check helpers tests tools

nbval: $(STAMP)
	@if compgen -G "notebooks/*.ipynb" > /dev/null; then \
		echo "$(NBVAL_ENV) $(BIN)/python -m pytest --nbval --nbval-current-env notebooks/ --nbval-sanitize-with tests/nbval_sanitize.cfg $(NBVAL_ARGS) $(PYTEST_ARGS)"; \
		$(NBVAL_ENV) $(BIN)/python -m pytest --nbval --nbval-current-env notebooks/ \
			--nbval-sanitize-with tests/nbval_sanitize.cfg $(NBVAL_ARGS) $(PYTEST_ARGS); \
	else \
		echo "make test: notebooks/ has no .ipynb yet; skipping the notebook (nbval) step."; \
	fi

# Maintainers: re-execute the notebooks in place (their stored outputs are nbval's reference).
NB ?= notebooks/*.ipynb
execute: $(STAMP)
	$(NBVAL_ENV) $(PY) -m jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=900 --ExecutePreprocessor.kernel_name=python3 $(NB)

colab-links: $(STAMP)
	$(PY) tools/colab_links.py $(ARGS)

$(COLAB_PY):
	@if [ -z "$(PYTHON)" ]; then echo "make: no python3.11 or python3 on PATH; install Python 3.11." >&2; exit 1; fi
	$(PYTHON) -m venv $(COLAB_VENV)

$(COLAB_STAMP): $(COLAB_CONSTRAINTS) pyproject.toml | $(COLAB_PY)
	@echo "Installing Colab's runtime ($(COLAB_CONSTRAINTS)) and the test tools into $(COLAB_VENV)"
	$(PYTHON) -c 'import tomllib; dev = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["dev"]; print("\n".join(r for r in dev if not r.startswith(("tf-keras-vis", "playwright"))))' \
		> $(COLAB_VENV)/test-tools.txt
	$(COLAB_PY) -m pip install $(PIP_QUIET) --disable-pip-version-check -r $(COLAB_CONSTRAINTS) \
		-c $(COLAB_CONSTRAINTS) $(COLAB_ALSO) -r $(COLAB_VENV)/test-tools.txt 2>&1 \
		| { grep -v -F "$(PIP_NOISE)" || true; }
	@echo "Installing the course as the Setup cell does: pip install --no-deps -e ."
	$(COLAB_PY) -m pip install $(PIP_QUIET) --disable-pip-version-check --no-deps -e . 2>&1 \
		| { grep -v -F "$(PIP_NOISE)" || true; }
	@touch $@

test-colab: $(COLAB_STAMP)
	@$(COLAB_PY) -c 'import importlib.metadata as m, sys; print("test-colab on Python", sys.version.split()[0], *(f"{n} {m.version(n)}" for n in ("tensorflow-cpu", "keras", "ipywidgets", "numpy", "matplotlib", "pillow")))'
	CONVNET_XRAY_PINS=$(COLAB_CONSTRAINTS) $(HEADLESS_ENV) $(COLAB_PY) -m pytest tests -p no:cacheprovider $(PYTEST_ARGS)
	$(NBVAL_ENV) $(COLAB_PY) -m pytest --nbval-lax --nbval-current-env notebooks/ -p no:cacheprovider \
		$(NBVAL_ARGS) $(PYTEST_ARGS)

# Needs Debian's chromium (/usr/bin/chromium, or CHROMIUM=...); never `playwright install`.
test-browser: $(STAMP)
	CONVNET_XRAY_BROWSER=1 $(HEADLESS_ENV) $(PY) -m pytest tests/browser -p no:cacheprovider -v $(PYTEST_ARGS)

benchmark: $(STAMP)
	$(HEADLESS_ENV) $(PY) -m helpers.benchmarks $(ARGS)

train: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m helpers.train $(ARGS)

# Never touches data/ (the bundled models and photos are part of the course).
clean:
	find . \( -path ./$(VENV) -o -path ./.git \) -prune -o -type d \( -name __pycache__ -o -name .ipynb_checkpoints \) -prune -exec rm -rf {} +
	rm -rf .pytest_cache build *.egg-info

distclean: clean
	rm -rf $(VENV) $(COLAB_VENV)
