# The two commands: `make demo` and `make test`. Both create .venv when it is missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= $(HOME)/.local/state/blackstart/demo

.PHONY: demo test lint typecheck screenshots bench clean-lab

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.lab: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[lab]'
	touch $@

$(VENV)/.test: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[lab,test]'
	touch $@

demo: $(VENV)/.lab
	$(BIN)/blackstart demo --dir $(DEMO_DIR)

test: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q

lint: $(VENV)/.test
	$(BIN)/ruff check .

typecheck: $(VENV)/.test
	$(BIN)/mypy

screenshots: $(VENV)/.test
	$(BIN)/python -m blackstart.tui.screenshots screenshots

bench: $(VENV)/.test
	$(BIN)/python bench/snapshot_verify.py
	$(BIN)/python bench/log_tail.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/restore.py
	$(BIN)/python bench/lab_up.py

clean-lab:
	-$(BIN)/blackstart lab down --dir $(DEMO_DIR)
