# audiokit: `make demo` and `make test` work on a fresh Debian machine with
# Python 3.10+ and the package registries. Everything lands in .venv/.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch, preferred where no NVIDIA GPU exists (on our build
# machines this release installs from local disk in seconds; an unpinned torch
# would pull a multi-GB CUDA build). pyproject keeps the range torch>=2.4.
TORCH_CPU_SPEC ?= torch==2.13.0
# Debian packages the tests use: data (KEMAR HRTF, ALSA speech), espeak-ng, a browser
# for the player test, and Chromaprint (also needed at run time by `audiokit duplicates`).
# Tests that need them skip, naming the package, when they are missing and cannot be
# installed; under AUDIOKIT_REQUIRE_DATA=1 (.ci/run) such a skip fails instead.
SYSTEM_PACKAGES := libmysofa1 alsa-utils espeak-ng chromium libchromaprint1
# hls.js and dash.js for the real-player test (tests/transcode/test_players.py), pinned
# in tests/players/package-lock.json and installed with `npm ci` (npm from Debian when missing).
PLAYER_DEPS := tests/players/node_modules/.package-lock.json

.PHONY: demo test slow lint install system-deps player-deps bench example clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@if ! command -v nvidia-smi >/dev/null 2>&1 && ! $(BIN)/python -c "import torch" 2>/dev/null; then \
		echo "no NVIDIA GPU: installing the CPU build of torch ($(TORCH_CPU_SPEC))"; \
		$(BIN)/python -m pip install --quiet "$(TORCH_CPU_SPEC)" || echo "warning: $(TORCH_CPU_SPEC) unavailable; pip resolves torch>=2.4 instead"; \
	fi
	$(BIN)/python -m pip install --quiet -e ".[all]"
	@touch $@

system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian packages for the tests: $$missing"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
			|| echo "warning: could not install $$missing; the tests that need them will skip"; \
	else \
		echo "note: $$missing not installed (needs root); the tests that need them will skip"; \
	fi

player-deps: system-deps $(PLAYER_DEPS)

$(PLAYER_DEPS): tests/players/package.json tests/players/package-lock.json
	@if ! command -v npm >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's npm for the player test"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null || true; \
	fi
	@if command -v npm >/dev/null 2>&1; then \
		(cd tests/players && npm ci --no-audit --no-fund --loglevel=error) \
			|| echo "warning: npm ci failed in tests/players; the real-player test will skip"; \
	else \
		echo "note: npm not installed; the real-player test will skip"; \
	fi

# The conventions' gates, then every test but the slow lane (STYLE.md section 11).
test: install system-deps player-deps lint
	$(BIN)/python -m pytest -q -m "not slow" tests audiokit --doctest-modules

# The slow lane: 30-minute episodes, 3-hour memory runs, long fuzzing (pytest -m slow).
slow: install system-deps player-deps
	$(BIN)/python -m pytest -q -m slow

# ruff (pyflakes, bugbear, isort, numpy docstrings) and mypy on the package.
lint: install
	$(BIN)/ruff check audiokit cli models tests benchmarks examples fuzz
	$(BIN)/mypy

demo: install
	$(BIN)/audiokit info examples/example.flac
	$(BIN)/audiokit ingest examples/example.flac -o out/demo --stages all
	$(BIN)/audiokit catalog list out/demo

bench: install
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

example: install
	$(BIN)/python examples/make_example.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache out
