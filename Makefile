# The two commands: `make demo` and `make test`. Both create .venv when it is missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= $(HOME)/.local/state/blackstart/demo

.PHONY: demo test lint typecheck screenshots record bench clean-lab fuzz kill-matrix

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
	$(BIN)/pytest -q

lint: $(VENV)/.test
	$(BIN)/ruff check .

typecheck: $(VENV)/.test
	$(BIN)/mypy

# SIGKILL of restore --yes and certs renew --yes at every step boundary, then resume /
# rollback (long; `make test` runs the first, middle and last boundary of each)
kill-matrix: $(VENV)/.test
	BLACKSTART_KILL_MATRIX=1 $(BIN)/pytest -q -s -p no:cacheprovider tests/runbook/test_kill_matrix_lab.py tests/runbook/test_kill_matrix_renew_lab.py

# every parser under hypothesis for longer than CI does (5000 inputs per property)
fuzz: $(VENV)/.test
	BLACKSTART_FUZZ_EXAMPLES=$${BLACKSTART_FUZZ_EXAMPLES:-5000} $(BIN)/pytest -q -s -p no:cacheprovider tests/fuzz

screenshots: $(VENV)/.test
	$(BIN)/python tests/tui/screenshots.py screenshots

# Re-record tests/data/recorded/ from a real lab (then `make screenshots` and
# `pytest tests/tui/test_tui_snapshots.py --snapshot-update`, and look at the pictures).
RECORD_NET ?= 127.0.0
record: $(VENV)/.test
	$(BIN)/python tests/data/recorded/record.py --net $(RECORD_NET)

# Every bench takes its lab net and data dir from here (BENCH_NET, BENCH_DIR); the data
# each builds is kept in BENCH_DIR for the next run. All of them: under 15 minutes once
# the data exists (the first run builds ~6 GB of snapshots and WAL).
BENCH_NET ?= 127.0.71
BENCH_DIR ?= $(HOME)/.cache/blackstart-bench
BENCH = BENCH_NET=$(BENCH_NET) BENCH_DIR=$(BENCH_DIR) timeout 900

bench: $(VENV)/.test
	$(BENCH) $(BIN)/python bench/snapshot_verify.py --small-keys 1000000
	$(BENCH) $(BIN)/python bench/check_probes.py
	$(BENCH) $(BIN)/python bench/tui_latency.py --minutes 2
	$(BIN)/blackstart lab down --dir $(BENCH_DIR)/lab-check
	$(BENCH) $(BIN)/python bench/restore.py
	$(BENCH) $(BIN)/python bench/log_tail.py
	$(BENCH) $(BIN)/python bench/startup.py

clean-lab:
	-$(BIN)/blackstart lab down --dir $(DEMO_DIR)
