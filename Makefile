# The two quick-start commands: `make reproduce` and `make test`.
# Each creates .venv with the CPU build of torch (constraints.txt) if needed.
# `make docs` adds the docs extra to the same .venv and builds the HTML in doc/_build/html.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.docs-installed

.PHONY: reproduce test lint bench docs clean

$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test,benchmark]"
	touch $(STAMP)

$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test,benchmark,docs]"
	touch $(DOCS_STAMP)

reproduce: $(STAMP)
	$(PY) -m benchmarks.appendix_e --quick

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m benchmarks.bench_divergences
	$(PY) -m benchmarks.bench_speed

docs: $(DOCS_STAMP)
	$(VENV)/bin/sphinx-build -W --keep-going -b html doc doc/_build/html

clean:
	rm -rf $(VENV) build *.egg-info doc/_build doc/generated doc/auto_examples
