# Two commands do all the set-up on a fresh machine:
#   make demo   install everything, get the data, run the quick label-count study
#   make test   install everything, get the data, run the test suite
PYTHON ?= python3
TORCH_VERSION ?= 2.13.0

.PHONY: install data demo study ablate test test-slow docs bench

install:
	# torch first, pinned: an unpinned torch would pull the multi-GB CUDA build here.
	$(PYTHON) -m pip install -q "torch==$(TORCH_VERSION)"
	$(PYTHON) -m pip install -q -e ".[plot,test,docs,dask]"

# Debian/Ubuntu as root: install the Fashion-MNIST package. Elsewhere the loader
# downloads the files (checksum-verified) into ~/scikit_learn_data/fashion_mnist.
data:
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null \
	    && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; fi

demo: install data
	vaesvm study --quick --out results/quick

test: install data
	$(PYTHON) -m pytest

test-slow: install data
	$(PYTHON) -m pytest -m slow

study: install data
	vaesvm study --out docs/results/study

ablate: install data
	vaesvm ablate --out docs/results/ablation

docs: install
	$(MAKE) -C docs html

bench: install data
	$(PYTHON) benchmarks/bench.py
