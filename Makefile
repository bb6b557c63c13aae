# Pulso: `make demo` to see it work, `make test` to check it. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test lint install clean chromium

# The digest preview test renders in a real headless Chromium: Debian's package.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "make test: installing Debian's chromium for the digest preview test"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	} || echo "make test: could not install chromium; its test is skipped outside CI" >&2

install: $(STAMP)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Pulso needs Python 3.11 or newer (set PYTHON=python3.x)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# One full cycle on the bundled data: collect, score, store, detect, alert; then exit.
demo: $(STAMP)
	@rm -f data/demo.db data/demo.db-wal data/demo.db-shm
	$(BIN)/pulso run --config config/demo.yaml --once

# The whole suite. pytest exits 5 when it collects nothing: that means the suite went
# missing, which must fail loudly rather than pass.
test: $(STAMP) chromium
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

clean:
	rm -rf $(VENV) data/*.db data/*.db-wal data/*.db-shm build *.egg-info
