# Two entry points. `make run`: install and start the chat. `make test`: install the test
# tools and run the whole suite (the same command CI runs, see .ci/run).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test install install-test

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Stamps: installed once, again only when pyproject.toml changes (an editable install picks up
# code changes by itself), so `make run` starts at once after the first time.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml .ci/install-llm-server.sh | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	bash .ci/install-llm-server.sh $(VENV)
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	$(VENV)/bin/cppcc-kb serve

test: install-test
	$(PY) -m pytest
