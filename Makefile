# The two commands:
#   make lab    set up, then open the course in JupyterLab
#   make test   set up, then run the whole test suite (what CI runs)
#   make check  the fast tier (lint and unit tests, under a minute), for every change
# Everything installs into .venv from this folder's own files.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(CURDIR)/$(VENV)/bin
STAMP   = $(VENV)/.installed
# nbgrader starts helpers (alembic) from PATH; the venv's come first.
export PATH := $(BIN):$(PATH)
# The course's matrices are tiny: one BLAS thread is faster, and leaves the
# second core to the other kernel when tests run side by side.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
# The assignment an instructor target works on, e.g. make autograde A=01_logistic_regression,
# and how many workers grade it (default: one per core; 1 grades one submission after another)
A ?=
WORKERS ?=
# Debian packages the tests need: Chromium for the browser tests, bubblewrap for
# the confined autograder, PostgreSQL for the gradebook tests (started by the tests).

.PHONY: lab test check setup system-deps bench clean \
        release check-release autograde feedback export bench-autograde

FIRST_NOTEBOOK = release/00_numpy_warmup/numpy_warmup.ipynb

lab: setup
	@# the exchange the course config names; without it nbgrader's Assignments list shows an error
	@mkdir -p grader/exchange && chmod 777 grader/exchange
	@if [ "$$(id -u)" = 0 ]; then echo "make lab: running as root (a container?), so JupyterLab starts with --allow-root"; fi
	$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" \
	    $$(if [ "$$(id -u)" = 0 ]; then echo --allow-root; fi) \
	    --LabApp.default_url=/lab/tree/$(FIRST_NOTEBOOK)

test: setup system-deps    ## the whole suite; it ends with its 25 slowest steps, to keep CI well under 30 minutes
	$(BIN)/ruff check .
	$(BIN)/python -m pytest --durations=25

# The fast tier, under a minute: lint, then the unit tests of utils, the widgets, the
# grader's pure parts and the course's static checks. Run it on every change.
check: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q tests/utils tests/widgets tests/grader tests/course

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@# jupyter-events pulls in rfc3987-syntax (through jsonschema[format-nongpl]), which builds
	@# 39 Lark parsers when imported: 1.1 s in every process that imports nbformat, so in every
	@# nbgrader command and grading worker. No Jupyter schema uses the IRI formats it checks;
	@# without it jsonschema leaves those formats unchecked (python-jsonschema/jsonschema#1428).
	$(BIN)/python -m pip uninstall --quiet --yes rfc3987-syntax
	$(BIN)/python -m grader.install_guard
	touch $@

system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v bwrap >/dev/null 2>&1 || missing="$$missing bubblewrap"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# ---- the instructor's term (see README, "For instructors") -----------------
release: setup          ## regenerate release/ from source/ (nbgrader generate_assignment)
	$(BIN)/python -m grader.release

check-release: setup    ## release/ is fresh, leak-free, and fails its tests while source/ passes
	$(BIN)/python -m grader.release --check
	$(BIN)/python -m grader.check_release
	$(BIN)/python -m grader.validate_course

autograde: setup        ## make autograde A="<assignment> ...": every submission, with a summary
	$(BIN)/python -m grader.autograde_class $(A) $(if $(WORKERS),--workers $(WORKERS))

feedback: setup         ## make feedback A=<assignment>: an HTML report per student
	$(BIN)/nbgrader generate_feedback $(A)

export: setup           ## grades to grader/grades.csv, item analysis to grader/reports/
	$(BIN)/nbgrader export
	$(BIN)/python -m grader.item_analysis

bench-autograde: setup  ## autograde time per notebook against bare kernel execution
	$(BIN)/python -m tests.bench_autograde

# Speed of utils against PyTorch (CPU) and scikit-learn; installs the comparison libraries.
bench: setup
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	@# OpenBLAS core-type overrides (set on some machines) slow numpy; measure without them.
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python -m tests.benchmark

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts
