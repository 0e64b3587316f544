# Quick start: `make demo` runs the shopbridge daemon on the built-in sandbox; `make test` runs every check.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test lint typecheck unit demo bench bench-propagation bench-latency model soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The suite on pytest-xdist workers: most tests wait on loopback HTTP, subprocesses and sleeps, so more
# workers than cores keep both cores busy; worksteal rebalances the long tests. TEST_WORKERS=0 runs serially.
# The 15 slowest tests are listed at the end, so a CI log shows where its time goes.
TEST_WORKERS ?= 4
unit: $(STAMP)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal --durations=15

test: lint typecheck unit

demo: $(STAMP)
	$(BIN)/shopbridge demo

bench: $(STAMP)
	$(BIN)/python -m bench.sync_bench

# A sale's time to reach the other channel, the real daemon with and without webhooks (bench/README.md);
# PROPAGATION_ARGS="--sales 50 --rate 10" to vary.
bench-propagation: $(STAMP)
	$(BIN)/python -m bench.propagation $(PROPAGATION_ARGS)

# Syncs of 10k variants under WooCommerce 300 ms / Square 100 ms a call, against the floors (~25 min);
# LATENCY_ARGS="--variants 1000" to vary.
bench-latency: $(STAMP)
	$(BIN)/python -m bench.latency $(LATENCY_ARGS)

# The model-based stock test at length: 500 examples of 30 steps per operation family, every failure
# shrunk and printed (no expected-failure marks). FAMILIES=woo_status,square_counts picks families.
model: $(STAMP)
	SHOPBRIDGE_MODEL_PROFILE=long SHOPBRIDGE_MODEL_STRICT=1 SHOPBRIDGE_MODEL_FAMILIES=$(FAMILIES) \
		$(BIN)/pytest -q -p no:cacheprovider tests/test_stock_model.py

# The daemon soak at length (40 kills, 150 bursts, 30 products); SOAK_ARGS="--kills 60 --seed 4" to vary.
soak: $(STAMP)
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
