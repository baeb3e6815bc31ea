# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Both create the virtual environment when it is missing and install the package into it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-all test-slow test-browser docs-site bench bench-quick docs examples lint format clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,plot,render]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/tinygrad-edu demo

# The everyday suite: everything but the tests marked slow (under three minutes on two cores).
# -n 2 measured against -n 1 and -n 0 on this two-core machine, twice each, its cores shared
# with two other developers' runs (load average 2.8-5.2): -n 2 130 s and 81 s, -n 1 122 s and
# 168 s, -n 0 147 s and 153 s (2,707 tests). The load moves single runs by a minute; best of
# each, -n 2 (81 s) beats -n 1 (122 s) and -n 0 (147 s), so two workers stay.
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/isort --check --quiet .
	$(PY) -m pytest -n 2 -q -m "not slow and not browser"

# Only the slow tests (CI runs them after `make test`); pytest's 5 means none is marked yet.
test-slow: $(STAMP)
	$(PY) -m pytest -n 2 -q -m "slow and not browser" || [ $$? = 5 ]

# The step-through page in headless Chromium: Debian's chromium and chromium-driver (apt-get,
# only when missing) and selenium (into the virtual environment) are installed first.
test-browser: $(STAMP)
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; }
	$(PY) -c "import selenium" 2>/dev/null || $(PY) -m pip install --quiet selenium
	$(PY) -m pytest -q -p no:randomly -m browser

# Everything, slow tests included.
test-all: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n 2 -q

# OPENBLAS_CORETYPE slows a current numpy where it is set: unset it for the timings only.
# The bench extra is PyTorch 2.13.0 (its CPU wheel is on this machine): the report compares
# with PyTorch eager in the same run (the CNN's goal is stated against it). One BLAS thread for
# both sides (and torch): two threads on two cores stall on tiny matmuls and make ratios swing.
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) -m benchmarks.run --blas-threads 1
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) -m benchmarks.sweep

bench-quick: $(BENCH_STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) -m benchmarks.run --quick --blas-threads 1
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) -m benchmarks.sweep --quick

# The pictures the README shows, made by the library itself (never by hand).
docs: $(STAMP)
	$(VENV)/bin/tinygrad-edu graph "sum(tanh(w * x + b))" --var w=0.5,-1.5 --var x=2,1 \
		--var b=0.1,0.3 --const x --out docs/graph.svg
	$(VENV)/bin/tinygrad-edu graph "sum(tanh(w * x + b))" --var w=0.5,-1.5 --var x=2,1 \
		--var b=0.1,0.3 --const x --out docs/graph.png
	$(VENV)/bin/tinygrad-edu demo --out docs/demo --no-progress

# The documentation site (API reference from the docstrings, the gallery, the errors catalogue,
# performance) into site/; --strict: a broken link or cross-reference fails the build.
DOCS_STAMP := $(VENV)/.installed-docs
$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[docs]'
	touch $(DOCS_STAMP)

docs-site: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# Every lesson of the course notes, full size, its picture into docs/examples/ (the gallery).
examples: $(STAMP)
	for script in examples/[0-9][0-9]_*.py; do $(PY) $$script --out docs/examples || exit 1; done

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/isort --check --quiet .

format: $(STAMP)
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) site build *.egg-info .pytest_cache .hypothesis .ruff_cache
