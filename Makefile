# Two entry points for a fresh machine: `make run` (the main job) and `make test` (the whole suite).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
RUN_STAMP := $(VENV)/.installed-run

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

PLUGINS := plugins/synthgen-reverse plugins/synthgen-echo-llm

# The test environment installs the example plugins too: their discovery through entry points is tested.
$(STAMP): pyproject.toml $(addsuffix /pyproject.toml,$(PLUGINS)) | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev,llamacpp,llamacpp-server]' $(addprefix -e ,$(PLUGINS))
	touch $@

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[llamacpp]'
	touch $@

.PHONY: run test lint bench
run: $(RUN_STAMP)
	$(BIN)/python -m synthgen

# The layers of docs/architecture.md are import-linter contracts (pyproject.toml): checked with the code.
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks plugins
	$(BIN)/mypy
	$(BIN)/lint-imports

# The viewer's browser tests drive the system's Chromium: install it where apt can (they are skipped,
# with the reason, where it cannot be had).
CHROMIUM_OR_SKIP := command -v chromium >/dev/null 2>&1 || apt-get install -y -q chromium >/dev/null 2>&1 \
	|| (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1) \
	|| echo "chromium could not be installed: the browser tests of synthgen view will be skipped"

test: $(STAMP) lint
	@$(CHROMIUM_OR_SKIP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/cache.py
	$(BIN)/python benchmarks/llm_throughput.py
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/ray_vs_local.py
	$(BIN)/python benchmarks/object_storage.py
	$(BIN)/python benchmarks/concurrent_sweep.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/compression.py
