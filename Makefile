# Two commands do all the set-up on a fresh machine:
#   make demo   create .venv, install everything into it, get the data, run the quick study
#   make test   the same set-up, then the test suite
# Everything is installed into and run from the virtual environment $(VENV), made with
# `$(PYTHON) -m venv`: the system Python is never modified (on Debian/Ubuntu it is
# "externally managed", PEP 668, and pip refuses to install into it). Stamp files in
# $(VENV) make a second run skip the installation; `rm -rf .venv` starts afresh.
#
#   make test PYTHON=python3.12     build the environment from another Python
#   make demo TORCH_INDEX=https://download.pytorch.org/whl/cpu
#                                   torch's CPU-only build from PyTorch's own index
#
# torch is installed first, pinned to $(TORCH_VERSION), from whatever index pip finds
# first: on Linux x86_64 plain PyPI serves the CUDA build (several GB of CUDA
# libraries); TORCH_INDEX points pip at another index (only for torch).
PYTHON ?= python3
VENV ?= .venv
TORCH_VERSION ?= 2.13.0
TORCH_INDEX ?=

BIN := $(VENV)/bin
PY := $(BIN)/python
VENV_STAMP := $(VENV)/.stamp-venv
TORCH_STAMP := $(VENV)/.stamp-torch-$(TORCH_VERSION)
INSTALL_STAMP := $(VENV)/.stamp-install

.PHONY: install data demo study ablate test test-slow lint docs bench

install: $(INSTALL_STAMP)

# Debian/Ubuntu ship venv apart (python3-venv): as root it is installed when missing.
$(VENV_STAMP):
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	    if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	        apt-get update -qq && apt-get install -y -qq python3-venv; fi; \
	    $(PYTHON) -m venv $(VENV) || { echo "make: '$(PYTHON) -m venv' failed;" \
	        "on Debian/Ubuntu run 'apt-get install python3-venv' (as root), or name" \
	        "another Python: make ... PYTHON=python3.12" >&2; exit 1; }; }
	@echo "Created the virtual environment $(VENV) ($$($(PY) --version))"
	touch $@

$(TORCH_STAMP): $(VENV_STAMP)
	$(PY) -m pip install -q "torch==$(TORCH_VERSION)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	touch $@

$(INSTALL_STAMP): $(TORCH_STAMP) pyproject.toml setup.cfg
	$(PY) -m pip install -q -e ".[plot,test,docs,dask,large]"
	touch $@

# Debian/Ubuntu as root: install the Fashion-MNIST package. Elsewhere the loader
# downloads the files (checksum-verified) into ~/scikit_learn_data/fashion_mnist.
data:
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null \
	    && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; fi

demo: install data
	$(BIN)/vaesvm study --quick --out results/quick

test: install data
	$(PY) -m pytest

test-slow: install data
	$(PY) -m pytest -m slow

study: install data
	$(BIN)/vaesvm study --out docs/results/study

ablate: install data
	$(BIN)/vaesvm ablate --out docs/results/ablation

lint: install
	$(PY) -m ruff check vaesvm tests benchmarks examples

docs: install
	$(MAKE) -C docs html SPHINXBUILD="$(abspath $(BIN))/sphinx-build"

bench: install data
	$(PY) benchmarks/bench.py
