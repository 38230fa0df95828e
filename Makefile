# Lab 5 — Image Segmentation. `make lab` to work, `make test` to check everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# nbgrader runs `alembic` from PATH: keep the venv's bin/ first.
export PATH := $(abspath $(VENV))/bin:$(PATH)
STAMP  := $(VENV)/.installed
PORT   ?= 8888
SUBMISSIONS ?=
# Jupyter refuses to run as root unless told (containers, CI)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
GRADE_OUT ?= build/grading

.PHONY: setup lab test smoke bench release grade grade-crafted grade-ids bench-grading data clean help

help:
	@echo "make lab      set up if needed, then JupyterLab on notebooks/"
	@echo "make test     the test suite: package, notebooks in grade mode, nbgrader round trip"
	@echo "make smoke    run every solution notebook in smoke mode (executed copies in build/smoke)"
	@echo "make bench    smoke runs + one table of wall time and quality (build/bench.json)"
	@echo "make release  regenerate notebooks/ from solutions/ with nbgrader and check for leaks"
	@echo "make grade SUBMISSIONS=<folder or zip>   autograde submissions (TAs)"
	@echo "make bench-grading   seconds per student for grading the whole lab"
	@echo "make grade-crafted   grade the crafted submissions of solutions/ and check every score"
	@echo "make grade-ids       pin the grade_ids of solutions/ in tests/grade_ids.json (deliberately)"

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt --config-settings editable_mode=compat -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $@

data: $(STAMP)
	$(PY) -m labutils.data shapes

lab: $(STAMP) data
	$(VENV)/bin/jupyter lab --no-browser --ip=127.0.0.1 --port=$(PORT) $(ROOT_FLAG) notebooks/

test: $(STAMP)
	$(PY) -m pytest -m "not smoke" $(PYTEST_ARGS)

smoke: $(STAMP)
	$(PY) -m labutils.runner smoke

bench: $(STAMP)
	$(PY) -m labutils.runner bench

release: $(STAMP)
	$(PY) -m labutils.release

grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=<folder or zip> [GRADE_OUT=build/grading]"; exit 2; }
	$(PY) -m labutils.grading "$(SUBMISSIONS)" --out "$(GRADE_OUT)" $(GRADE_ARGS)

bench-grading: $(STAMP)
	$(PY) -m labutils.grading.bench $(BENCH_ARGS)

grade-crafted: $(STAMP)
	rm -rf build/crafted
	$(PY) -m labutils.grading.crafted --out build/crafted
	$(PY) -m labutils.grading build/crafted/submissions --out build/crafted/graded --jobs 2 $(GRADE_ARGS)
	$(PY) -m labutils.grading.crafted --check build/crafted

grade-ids: $(STAMP)
	$(PY) -m labutils.grading.gradeids --write

clean:
	rm -rf build .pytest_cache
