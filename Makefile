# The two entry points: `make demo` and `make test`. Both create .venv when it is missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check hooks lint typecheck unit bench system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip
	$(BIN)/python -m pip install -qq -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ivrflow check flows/*.ivr
	$(BIN)/ivrflow simulate flows/billing.ivr

test: $(STAMP) system-deps lint typecheck unit

# The fast loop while working (under a minute): lint, types, and the unit, golden and
# transcript tests without the end-to-end, explore and mutation suites. `make test` runs all.
check: $(STAMP) lint typecheck
	$(BIN)/pytest -m "not e2e and not slow"

# ruff and mypy before every commit (.pre-commit-config.yaml; they run the venv's tools).
hooks: $(STAMP)
	$(BIN)/python -m pip install -qq pre-commit
	$(BIN)/pre-commit install

# The simulator's terminal test drives tmux; the SVG diagram test runs Graphviz's dot; the
# webhook tests start a redis-server on 127.0.0.1, the store tests a throw-away PostgreSQL
# (tests/postgres_lab.py); the HTML report tests open pages in headless
# Chromium; the voicebot tests speak with espeak-ng and sox. Installed from Debian when missing
# and we may (root, apt-get); otherwise those tests skip and say why.
SYSTEM_TOOLS := tmux:tmux dot:graphviz redis-server:redis-server chromium:chromium \
	pg_ctlcluster:postgresql espeak-ng:espeak-ng sox:sox
system-deps:
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
	  command -v "$${pair%%:*}" >/dev/null || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "note: missing$$missing; their tests will be skipped"; fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check ivrflow tests bench examples
	$(BIN)/ruff format --check ivrflow tests bench examples

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m pip install -qq -e '.[bench]'
	$(BIN)/python bench/compile.py
	$(BIN)/python bench/interpreter.py
	$(BIN)/python bench/gateway.py
	$(BIN)/python bench/reliability.py
	$(BIN)/python bench/traffic.py
	$(BIN)/python bench/callbacks.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
