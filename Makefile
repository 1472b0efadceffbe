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

# make test-colab: Colab's runtimes, one environment each. Every constraints/colab-YYYY.MM.txt is
# one runtime Colab offers (written by tools/colab_pins.py from Colab's published freeze; its
# header names the Python it runs on): .venv-colab-YYYY.MM is created with that Python (found by
# tools/find_python.sh, which fails saying how to get one), pinned to that freeze, with the course
# installed as the Setup cell installs it (--no-deps) and the test tools (Colab's versions where
# Colab has them; not tf-keras-vis, which Colab lacks: its tests skip; not playwright).
# `make test-colab` tests every runtime; `make test-colab-2026.08` one; -current and -previous
# are the newest two.
COLAB_RUNTIMES := $(sort $(patsubst constraints/colab-%.txt,%,$(wildcard constraints/colab-*.txt)))
COLAB_CURRENT := $(lastword $(COLAB_RUNTIMES))
COLAB_PREVIOUS := $(lastword $(filter-out $(COLAB_CURRENT),$(COLAB_RUNTIMES)))
# What the course needs from Colab's image (pip takes the freeze's versions of these and of all
# they pull in).
COLAB_PACKAGES := tensorflow-cpu keras numpy matplotlib pillow ipywidgets widgetsnbextension tqdm ipython ipykernel

.PHONY: help venv lab test unit-test nbval test-portable execute benchmark train clean distclean colab-links \
	test-colab test-browser test-colab-current test-colab-previous colab-venvs wheel lint test-fast translations

help:
	@echo "ConvNet X-Ray"
	@echo "  make lab        open the course in JupyterLab (creates .venv on first use)"
	@echo "  make test       unit tests, then every notebook re-run and compared (nbval)"
	@echo "  make test-fast  the unit tests without the slow ones (the edit-test loop)"
	@echo "  make lint       ruff (pyproject.toml [tool.ruff]) over helpers/, tests/ and tools/"
	@echo "  make test-portable  make test on AVX2 kernels (another CPU's float32 rounding)"
	@echo "  make test-colab the same on each Colab runtime (constraints/colab-*.txt: $(COLAB_RUNTIMES)); notebooks must run without error"
	@echo "  make wheel      build the course wheel, with its photos and models, into dist/ (for Colab without a repository)"
	@echo "  make test-browser  JupyterLab in Debian's chromium: the explorers of notebooks 01, 03 and 06"
	@echo "  make execute    re-execute notebooks in place (NB=notebooks/03_class_activation_maps.ipynb for one)"
	@echo "  make colab-links   write pyproject's repository URL into badges, Setup cells and README"
	@echo "  make translations  rebuild the Chinese edition (notebooks/zh/) from the English notebooks and"
	@echo "                     notebooks/zh/translations/ (ARGS=update: add the cells to translate; ARGS=check)"
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
	$(BIN)/jupyter trust notebooks/*.ipynb notebooks/zh/*.ipynb
	$(BIN)/jupyter lab notebooks/ $(ALLOW_ROOT) $(ARGS)

test: unit-test nbval

# The same tests on the float32 kernels of another CPU. TensorFlow's oneDNN, OpenBLAS (numpy's
# matrix products) and numpy's own loops pick their kernels at run time (AVX-512 on one machine,
# AVX2 on another), and the kernels round differently; every number a notebook prints must survive
# that. On an AVX-512 machine these settings run the AVX2 kernels of all three (on an AVX2 machine
# they change nothing): ONEDNN_MAX_CPU_ISA for oneDNN, OPENBLAS_CORETYPE=Haswell for OpenBLAS (only
# where the machine sets none of its own), NPY_DISABLE_CPU_FEATURES for numpy.
# `make test-portable PORTABLE_ENV=TF_ENABLE_ONEDNN_OPTS=0` runs TensorFlow without oneDNN instead.
PORTABLE_ENV ?= ONEDNN_MAX_CPU_ISA=AVX2 NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR" \
	$(if $(filter x86_64,$(shell uname -m)),$(if $(OPENBLAS_CORETYPE),,OPENBLAS_CORETYPE=Haswell))
test-portable: $(STAMP)
	@echo 'make test under $(PORTABLE_ENV)'
	$(PORTABLE_ENV) $(MAKE) --no-print-directory test

unit-test: $(STAMP)
	$(HEADLESS_ENV) $(BIN)/python -m pytest tests $(PYTEST_ARGS)

# The edit-test loop: every unit test not marked slow (pyproject.toml lists the markers), on
# FAST_WORKERS processes (pytest-xdist; the tests are one busy Python process each, so two cores
# nearly halve the time).
FAST_WORKERS ?= 2
test-fast: $(STAMP)
	$(HEADLESS_ENV) $(BIN)/python -m pytest tests -m "not slow" -n $(FAST_WORKERS) -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/python -m ruff check helpers tests tools

nbval: $(STAMP)
	@if compgen -G "notebooks/*.ipynb" > /dev/null; then \
		echo "$(NBVAL_ENV) $(BIN)/python -m pytest --nbval --nbval-current-env notebooks/ $(NOT_ZH) --nbval-sanitize-with tests/nbval_sanitize.cfg $(NBVAL_ARGS) $(PYTEST_ARGS)"; \
		$(NBVAL_ENV) $(BIN)/python -m pytest --nbval --nbval-current-env notebooks/ $(NOT_ZH) \
			--nbval-sanitize-with tests/nbval_sanitize.cfg $(NBVAL_ARGS) $(PYTEST_ARGS); \
	else \
		echo "make test: notebooks/ has no .ipynb yet; skipping the notebook (nbval) step."; \
	fi

# The Chinese edition (notebooks/zh/) is built from the English notebooks, outputs included, and is
# not executed again: tests/test_translations.py checks that it is what `make translations` builds.
NOT_ZH := --ignore=notebooks/zh

# Maintainers: re-execute the notebooks in place (their stored outputs are nbval's reference).
NB ?= notebooks/*.ipynb
execute: $(STAMP)
	$(NBVAL_ENV) $(PY) -m nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=900 --ExecutePreprocessor.kernel_name=python3 $(NB)

colab-links: $(STAMP)
	$(PY) tools/colab_links.py $(ARGS)

# After the English notebooks change: `make translations ARGS=update` marks the cells to translate in
# notebooks/zh/translations/, then `make translations` rebuilds notebooks/zh/*.ipynb.
translations: $(STAMP)
	$(PY) tools/translations.py $(or $(ARGS),build)

# The course wheel (photos and models inside): what a teacher shares with the notebooks when the
# repository is not published; the Setup cell installs it from Colab's working folder.
wheel: $(STAMP)
	rm -rf build dist/convnet_xray-*.whl
	$(PY) -m pip wheel $(PIP_QUIET) --disable-pip-version-check --no-deps --no-build-isolation -w dist . 2>&1 \
		| { grep -v -F "$(PIP_NOISE)" || true; }
	rm -rf build
	@ls dist/convnet_xray-*.whl
	@echo "Share this file with the notebooks; on Colab upload it to the Files pane (/content) and run the Setup cell."

# One environment per runtime; reinstalled when its constraints file or pyproject.toml changes.
.venv-colab-%/.convnet-xray-installed: constraints/colab-%.txt pyproject.toml
	@python_version="$$(sed -n 's/^# Python: \([0-9]*\.[0-9]*\).*/\1/p' $<)"; \
	if [ -z "$$python_version" ]; then echo "make: $< has no '# Python: X.Y.Z' header line (tools/colab_pins.py writes it)" >&2; exit 1; fi; \
	interpreter="$$(tools/find_python.sh "$$python_version")"; \
	rm -rf .venv-colab-$*; \
	echo "Creating .venv-colab-$* with $$interpreter ($$("$$interpreter" --version 2>&1)) for Colab's runtime $*"; \
	"$$interpreter" -m venv .venv-colab-$*
	.venv-colab-$*/bin/python tools/colab_pins.py --test-tools pyproject.toml $< > .venv-colab-$*/test-tools.txt
	@echo "Installing Colab's runtime $* ($<) and the test tools into .venv-colab-$*"
	.venv-colab-$*/bin/python -m pip install $(PIP_QUIET) --disable-pip-version-check -c $< \
		$(COLAB_PACKAGES) -r .venv-colab-$*/test-tools.txt 2>&1 | { grep -v -F "$(PIP_NOISE)" || true; }
	@echo "Installing the course as the Setup cell does: pip install --no-deps"
	.venv-colab-$*/bin/python -m pip install $(PIP_QUIET) --disable-pip-version-check --no-deps -e . 2>&1 \
		| { grep -v -F "$(PIP_NOISE)" || true; }
	@touch $@

# Per runtime: its environment alone (colab-venv-2026.08), the unit tests (the bundled models'
# predictions against the pinned environment's and the explorers under ipywidgets 7.7.1 among them),
# every notebook top to bottom (nbval-lax: errors fail, outputs are not compared), or both.
colab-venv-%: .venv-colab-%/.convnet-xray-installed
	@.venv-colab-$*/bin/python -c 'import importlib.metadata as m, sys; print("Colab runtime $* on Python", sys.version.split()[0], *(f"{n} {m.version(n)}" for n in ("tensorflow-cpu", "keras", "numpy", "matplotlib", "ipywidgets", "ipython", "ipykernel", "pillow")))'

# COLAB_PYTEST_ARGS: what CI leaves out there to keep its time (.ci/run says what and why).
COLAB_PYTEST_ARGS ?=
test-colab-unit-%: colab-venv-%
	CONVNET_XRAY_PINS=constraints/colab-$*.txt $(HEADLESS_ENV) .venv-colab-$*/bin/python -m pytest tests \
		-p no:cacheprovider $(COLAB_PYTEST_ARGS) $(PYTEST_ARGS)

test-colab-notebooks-%: colab-venv-%
	$(NBVAL_ENV) .venv-colab-$*/bin/python -m pytest --nbval-lax --nbval-current-env notebooks/ $(NOT_ZH) -p no:cacheprovider \
		$(NBVAL_ARGS) $(PYTEST_ARGS)

test-colab-%: test-colab-unit-% test-colab-notebooks-% ;

colab-venvs: $(addprefix colab-venv-,$(COLAB_RUNTIMES))

# Kept after the run (make would otherwise delete a stamp made by a chain of pattern rules).
.PRECIOUS: .venv-colab-%/.convnet-xray-installed

test-colab-current: test-colab-$(COLAB_CURRENT)
test-colab-previous: test-colab-$(COLAB_PREVIOUS)
test-colab: $(addprefix test-colab-,$(COLAB_RUNTIMES))

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
	rm -rf $(VENV) .venv-colab-*
