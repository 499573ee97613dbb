# Two commands set up a fresh machine: `make lab` runs the workshop, `make test` runs every test.
SHELL := /bin/bash
# The first Python 3.11+ on PATH (pyenv shims for missing versions fail the check and are skipped).
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
  $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
# `make lab` installs the package with its [lab] extra; `make test` adds [test].
LAB_STAMP := $(VENV)/.installed-lab
TEST_STAMP := $(VENV)/.installed-test
# A wheelhouse (`make wheelhouse`: every pinned wheel, for every platform a room has) beside this Makefile makes
# every install come from it alone, with nothing fetched from the network; without one, pip uses the package index.
WHEELHOUSE := wheelhouse
PIP_SOURCE = $(if $(wildcard $(WHEELHOUSE)/*.whl),--no-index --find-links $(WHEELHOUSE),)
PIP_INSTALL = $(BIN)/python -m pip install --quiet --disable-pip-version-check $(PIP_SOURCE) -c constraints.txt
PYTEST_ARGS ?=
# Test processes at once (pytest-xdist, one test file per process): the machine has 2 cores, but
# most tests wait on Temporal's timers and retries (three processes kept them busy 107% of the time,
# five 139%). TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 5
PYTEST = PYTHONHASHSEED=0 $(BIN)/python -m pytest --nbval-lax --nbval-sanitize-with notebooks/sanitize.cfg \
  --nbval-cell-timeout=120 -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

.PHONY: lab test test-quick preflight venv install server-start server-stop doctor wheelhouse bench clean help diagrams site notebooks

help:
	@echo "make lab    - install (first time), start the Temporal server, open JupyterLab on notebooks/"
	@echo "make test   - install (first time) and run unit, integration and notebook (nbval) tests"
	@echo "make test-quick - the same without the tests marked slow (browser, two-pass rerun, late work)"
	@echo "make install - what make lab installs, without starting anything (from wheelhouse/ when there is one)"
	@echo "make doctor - is this laptop ready for the workshop? one line per need"
	@echo "make wheelhouse - every pinned wheel for every platform in wheelhouse/, for a room without Wi-Fi"
	@echo "make preflight - say whether Java and Chromium (which make test needs from the system) are here"
	@echo "make bench  - print throughput and start-up numbers"
	@echo "make diagrams - render diagrams/*.puml to diagrams/svg/ (local PlantUML jar, needs Java)"
	@echo "make site   - a static HTML self-study site of every notebook and diagram in site/"
	@echo "make notebooks - rerun every notebook in place on a fresh server (default ports, clean .saga-lab/)"
	@echo "                 and store its outputs as a learner's first run; ONLY=\"04 05\" for some of them"

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Saga Lab needs Python 3.11 or newer and none was found on PATH: install it, or run: make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(LAB_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e '.[lab]'
	@touch $(LAB_STAMP)

$(TEST_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e '.[lab,test]'
	@touch $(LAB_STAMP) $(TEST_STAMP)

venv: $(TEST_STAMP)

# What `make lab` installs, without starting anything (a dev container's create step, a room's set-up morning).
install: $(LAB_STAMP)

lab: $(LAB_STAMP)
	$(BIN)/saga-lab lab $(LAB_ARGS)

server-start: $(LAB_STAMP)
	$(BIN)/saga-lab server start

# Is this laptop ready for the workshop? One line per need: ready, or what is missing and what to do.
doctor: $(LAB_STAMP)
	$(BIN)/saga-lab doctor

# Every pinned wheel for Linux x86-64/arm64, macOS arm64/x86-64 and Windows, Python 3.11-3.13, in wheelhouse/
# (git-ignored): copy the repository with it to a USB stick, and `make lab` installs from it offline.
# PLATFORMS="linux-x86_64" PYTHONS="3.12" for fewer.
PLATFORMS ?=
PYTHONS ?=
wheelhouse: $(LAB_STAMP)
	$(BIN)/python tools/wheelhouse.py $(if $(PLATFORMS),--platform $(PLATFORMS)) $(if $(PYTHONS),--python $(PYTHONS))

# Java (diagrams) and Chromium (browser tests) come from the system: say what is missing before spending minutes.
preflight: $(TEST_STAMP)
	@$(BIN)/python tests/preflight.py

test: preflight
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
	$(PYTEST) $(PYTEST_ARGS)

# The working session's loop: the lint, every test not marked slow, and nbval over every notebook
# (not the two-pass rerun, the browser runs, the wait for late work or two learners on one server).
# Without the notebooks' reruns the machine has room for a fourth process.
test-quick: TEST_WORKERS = 4
test-quick: preflight
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
	$(PYTEST) -m "not slow" $(PYTEST_ARGS)

server-stop: $(LAB_STAMP)
	$(BIN)/saga-lab server stop

bench: venv
	$(BIN)/python bench/server_start.py
	$(BIN)/python bench/saga_throughput.py
	$(BIN)/python bench/diagrams.py
	$(BIN)/python bench/playground.py
	$(BIN)/python bench/chaos.py

clean:
	rm -rf $(VENV) .saga-lab site test-artifacts


# diagrams/*.puml -> diagrams/svg/*.svg, all drawn with one Java start (needs Java; see saga_lab/plantuml.py).
diagrams: $(LAB_STAMP)
	$(BIN)/python -m saga_lab.plantuml diagrams/*.puml --out diagrams/svg

# Every notebook (stored outputs) and diagrams/*.md as HTML in site/, with a table of contents.
site: $(LAB_STAMP)
	$(BIN)/python tools/site.py --out site

# Store every notebook's outputs as a learner's first run: in order, in place, on a fresh embedded server at
# 127.0.0.1:7233/8233 with a clean .saga-lab/ (yours is moved aside and put back). ONLY="04 05" runs some.
# `$(BIN)/python tools/notebooks.py --diff` then says which cells changed beyond timestamps, ids and pictures.
ONLY ?=
notebooks: $(TEST_STAMP)
	$(BIN)/python tools/notebooks.py $(if $(ONLY),--only $(ONLY))
