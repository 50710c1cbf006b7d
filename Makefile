# voucher_service — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# Pytest arguments, e.g. `make test PYTEST_ARGS="-k ledger -x"`.
PYTEST_ARGS ?=
# scripts/mutation.py arguments, e.g. `make mutation MUTATION_ARGS="money rules"` or "--jobs 1".
MUTATION_ARGS ?=
# Arguments of the benchmark, e.g. `make bench BENCH_ARGS="--quick --only ledger,claims"` or
# `make bench-request-cost BENCH_ARGS="--profile approve"`. BENCH_DB_SUFFIX=_me keeps two people's databases apart.
BENCH_ARGS ?=

# Settings refuse to load without SECRET_KEY, PERSONAL_ID_HMAC_KEY and LEDGER_SIGNING_KEY when DATABASE_URL is
# set (production mode). Tools that import settings (mypy's Django plugin, makemigrations, pytest, the
# benchmarks) get throwaway keys unless they are already set.
WITH_KEY := SECRET_KEY=$${SECRET_KEY:-test-only-secret-key-not-for-production-use-0123456789abcdef} \
	PERSONAL_ID_HMAC_KEY=$${PERSONAL_ID_HMAC_KEY:-test-only-personal-id-hmac-key-not-for-production-0123456789} \
	LEDGER_SIGNING_KEY=$${LEDGER_SIGNING_KEY:-test-only-ledger-signing-key-not-for-production-0123456789}

RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed

.PHONY: help run test lint format typecheck migrations-check pytest mutation bench bench-ledger bench-issuance bench-claims bench-reports bench-stress bench-request-cost ci clean

help: ## List the targets
	@echo "Usage: make <target> [PORT=$(PORT)] [PYTEST_ARGS='-k ledger -x']"
	@echo
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/\$$(PORT)/$(PORT)/g' \
	  | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): $(VENV)/bin/python pyproject.toml requirements.lock
	$(PY) -m pip install --quiet -c requirements.lock -e .
	@touch $@

$(DEV_STAMP): $(RUNTIME_STAMP)
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $@

run: $(RUNTIME_STAMP) ## Serve http://127.0.0.1:$(PORT) on SQLite with a Celery worker and beat (no servers; DATA_DIR=./var)
	@PY=$(PY) PORT=$(PORT) bash scripts/run-embedded.sh

test: lint typecheck migrations-check pytest ## Lint, type-check, check migrations, run the whole test suite

lint: $(DEV_STAMP) ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(DEV_STAMP) ## Apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: $(DEV_STAMP) ## mypy with django-stubs
	$(WITH_KEY) $(VENV)/bin/mypy core accounts ledger voucher_service $(wildcard bench)

migrations-check: $(DEV_STAMP) ## Fail if models and migrations disagree
	$(WITH_KEY) $(PY) manage.py makemigrations --check --dry-run

pytest: $(DEV_STAMP) ## Run pytest (PostgreSQL when DATABASE_URL is set, else SQLite)
	@if [ -n "$$DATABASE_URL" ]; then echo "pytest on PostgreSQL: $${DATABASE_URL%%@*}@…"; \
	 else echo "pytest on SQLite (set DATABASE_URL for PostgreSQL; PostgreSQL-only tests are skipped and listed below)"; fi
	$(WITH_KEY) $(VENV)/bin/pytest $(PYTEST_ARGS)

mutation: $(DEV_STAMP) ## Mutation testing of the money modules against their tests (not in `make test`; TESTING.md)
	$(WITH_KEY) $(PY) scripts/mutation.py $(MUTATION_ARGS)

bench: $(DEV_STAMP) ## Every benchmark, one table (needs PostgreSQL: DATABASE_URL)
	$(WITH_KEY) $(PY) -m bench.all $(BENCH_ARGS)

bench-ledger: $(DEV_STAMP) ## Ledger throughput vs pgbench TPC-B (needs PostgreSQL: DATABASE_URL)
	$(WITH_KEY) $(PY) -m bench.ledger $(BENCH_ARGS)

bench-issuance: $(DEV_STAMP) ## Bulk issuance of 10,000 rows and HTTP approvals at 1/16 clients (needs PostgreSQL: DATABASE_URL)
	$(WITH_KEY) $(PY) -m bench.issuance $(BENCH_ARGS)

bench-request-cost: $(DEV_STAMP) ## Application CPU per request (approve-and-issue, claim decision, baseline), in process (needs PostgreSQL: DATABASE_URL)
	$(WITH_KEY) $(PY) -m bench.request_cost $(BENCH_ARGS)

bench-claims: $(DEV_STAMP) ## Whole claim lifecycles over HTTP at 1/16 clients vs the baseline endpoint (needs PostgreSQL: DATABASE_URL)
	$(WITH_KEY) $(PY) -m bench.claims $(BENCH_ARGS)

bench-stress: $(DEV_STAMP) ## 10,000 random operations on 32 threads, then caps, ledger and budget checks (needs PostgreSQL: DATABASE_URL)
	$(WITH_KEY) $(PY) -m bench.stress $(BENCH_ARGS)

bench-reports: $(DEV_STAMP) ## Journal export of 1,000,000 postings vs psql \copy, peak RSS, as-of balances (needs PostgreSQL: DATABASE_URL)
	$(WITH_KEY) $(PY) -m bench.reports $(BENCH_ARGS)

ci: ## What CI runs: make test against PostgreSQL and Redis (starts them if needed)
	bash .ci/run

clean: ## Remove the virtualenv, the local database and caches
	rm -rf $(VENV) var staticfiles test-results build/mutation .pytest_cache .mypy_cache .ruff_cache
