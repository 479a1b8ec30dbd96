# The two quick-start commands: `make reproduce` and `make test`.
# Each creates .venv with the CPU build of torch (constraints.txt) if needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: reproduce test lint bench clean

$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test,benchmark]"
	touch $(STAMP)

reproduce: $(STAMP)
	$(PY) -m benchmarks.appendix_e --quick

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m benchmarks.bench_divergences
	$(PY) -m benchmarks.bench_speed

clean:
	rm -rf $(VENV) build *.egg-info
