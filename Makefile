# The POS, three ways to start it (see README.md):
#   make run     embedded: every service in one process, SQLite, no servers needed
#   make stack   local stack: a process per service, MariaDB, RabbitMQ, nginx
#   compose.yaml the same topology in containers (docker compose up)
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYPROJECTS := $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
WEB_SOURCES := $(shell find web/src web/public web/index.html web/package.json web/package-lock.json \
                 web/vite.config.* web/svelte.config.js web/tsconfig.json -type f 2>/dev/null)

.PHONY: install run stack stack-down stack-status test test-fast lint web web-check api-types bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock $(PYPROJECTS) scripts/install.sh
	scripts/install.sh
	touch $@

web: web/dist/index.html

web/dist/index.html: $(WEB_SOURCES)
	@if [ -f web/package.json ]; then \
		cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build; \
	else echo "web/package.json missing: serving the placeholder page"; fi

## Front-end unit tests (vitest) and type check
web-check:
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm test && npm run check

## The web app's API types (web/src/lib/api-types/*.ts) from the services' OpenAPI documents;
## run it after changing a route or a response model, and commit the result (CI checks it is current)
api-types: install
	cd web && npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/python scripts/openapi_types.py

## Embedded mode on http://127.0.0.1:8080 (Ctrl-C stops it; data in var/embedded/); the demo
## chain's first start also records DEMO_HISTORY_DAYS days of past sales in the background (0: none)
DEMO_HISTORY_DAYS ?= 29
run: install web
	$(BIN)/python -m pos_embedded --demo-history-days $(DEMO_HISTORY_DAYS)

## Local stack on http://127.0.0.1:8080 (logs in var/stack/logs/; `make stack-down` stops it)
stack: install web
	$(BIN)/python scripts/stack.py up

stack-down:
	$(BIN)/python scripts/stack.py down

stack-status:
	$(BIN)/python scripts/stack.py status

## Every test: lint and types, unit, integration (MariaDB, RabbitMQ), full stack through
## nginx, browser. Browser tests drive the till through the local stack's nginx when it can run here.
test: install web web-check lint
	@mkdir -p test-results
	POS_BROWSER_BASE_URL=$${POS_BROWSER_BASE_URL:-stack} $(BIN)/python -m pytest --junitxml=test-results/junit.xml --durations=40 $(PYTEST_ARGS)

## Only the tests that need no server
test-fast: install web-check lint
	$(BIN)/python -m pytest -m "not integration and not e2e and not browser and not faults" $(PYTEST_ARGS)

## ruff's lint rules, ruff format (checked, not applied: `ruff format` applies it), mypy (strict: libs/ and every domain.py; pyproject.toml says which) and every `# type: ignore` still needed and explained
lint: install
	$(BIN)/ruff check libs services scripts gateway tests conftest.py
	$(BIN)/ruff format --check libs services scripts gateway tests conftest.py
	$(BIN)/mypy
	$(BIN)/python scripts/type_ignores.py

## Checkout load against the running local stack (`make stack` first)
bench: install
	$(BIN)/python scripts/loadgen.py $(BENCH_ARGS)

clean:
	rm -rf var test-results web/dist
