# Two entry points. `make run`: install and start the chat. `make test`: install the test
# tools and run the whole suite (the same command CI runs, see .ci/run).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test install install-test

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

install: $(PY)
	$(PY) -m pip install --quiet -e .

install-test: $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	bash .ci/install-llm-server.sh $(VENV)

run: install
	$(VENV)/bin/cppcc-kb serve

test: install-test
	$(PY) -m pytest
