# The two commands:
#   make lab    set up, then open the course in JupyterLab
#   make test   set up, then run the whole test suite (what CI runs)
# Everything installs into .venv from this folder's own files.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
# Debian packages the tests need: Chromium for the browser tests,
# bubblewrap for the confined autograder.
DEBS    = chromium bubblewrap

.PHONY: lab test setup system-deps bench clean

lab: setup
	$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" \
	    --LabApp.default_url=/lab/tree/release/01_logistic_regression/logistic_regression.ipynb

test: setup system-deps
	$(BIN)/python -m pytest

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v bwrap >/dev/null 2>&1 || missing="$$missing bubblewrap"; \
	if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# Speed of utils against PyTorch (CPU) and scikit-learn; installs the comparison libraries.
bench: setup
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	@# OpenBLAS core-type overrides (set on some machines) slow numpy; measure without them.
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python tests/benchmark.py

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts
