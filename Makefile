# souqscan developer tasks. `make` alone lists them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SENTINEL := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help dev lint fmt test run bench-hosts bench-aws bench-dask bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(SENTINEL): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

dev: $(SENTINEL) ## create .venv and install souqscan with the dev extras

lint: $(SENTINEL) ## ruff and mypy (strict)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(SENTINEL) ## format and autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: $(SENTINEL) ## lint, then the whole test suite
	$(MAKE) lint
	$(BIN)/pytest -n 2 -q

run: $(SENTINEL) ## scan this host against the default baseline and print the table
	@$(BIN)/souqscan host --local || [ $$? -le 3 ]  # 1 and 3 are findings, not failures of make

bench-hosts: $(SENTINEL) ## souqscan vs ansible -m setup over N=1,50,200 loopback sshd endpoints
	$(BIN)/python bench/hosts.py

bench-aws: $(SENTINEL) ## AWS scan vs Prowler on moto (N=10,100,1000; Prowler in bench/.venv-prowler)
	$(BIN)/python bench/aws.py $(BENCH_AWS_ARGS)

bench-dask: $(SENTINEL) ## the host fleet on dask-local (2 workers) vs threads: same findings, overhead
	$(BIN)/python bench/dask.py

bench: bench-hosts bench-aws bench-dask ## every benchmark

clean: ## remove the venv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
