# sagecost: every command creates what it needs (virtualenvs under .venv and .venv-tools) on first use.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# pip on these machines warns about every missing local index folder: keep the real errors only
QUIET_PIP := 2>&1 | { grep -v "^WARNING: Location .* is ignored" || true; }
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
TOOLS ?= .venv-tools
FOCUS_VENV ?= .venv-focus
BIN := $(VENV)/bin
DEMO_OUT ?= out/demo
# Lambda runs python3.12: `sam build` needs that interpreter on PATH (pyenv's, if there is one).
PY312_BIN := $(shell for p in "$$(command -v python3.12 2>/dev/null)" "$$(pyenv prefix 3.12 2>/dev/null)/bin/python3.12" "$$(pyenv prefix 3.12.1 2>/dev/null)/bin/python3.12"; do [ -x "$$p" ] && "$$p" -c 'import sys' 2>/dev/null && { dirname "$$p"; break; }; done)

.PHONY: help demo test lint format typecheck template focus-env browser pytest unit integration e2e deploy-check build bench clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(VENV)/.ready: requirements/dev.txt shared/requirements.txt pyproject.toml $(wildcard functions/*/__init__.py)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip $(QUIET_PIP)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/dev.txt $(QUIET_PIP)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e . $(QUIET_PIP)
	touch $@

$(TOOLS)/.ready: requirements/tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check -r requirements/tools.txt $(QUIET_PIP)
	touch $@

# focus-validator needs Python >= 3.12: without one, the FOCUS validation test is skipped and says why.
$(FOCUS_VENV)/.ready: requirements/focus.txt
	@if [ -n "$(PY312_BIN)" ]; then \
		$(PY312_BIN)/python3.12 -m venv $(FOCUS_VENV) && \
		$(FOCUS_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/focus.txt $(QUIET_PIP) && \
		touch $@; \
	else \
		echo "focus-env skipped: no python3.12 interpreter (focus-validator 2.2.1 needs >= 3.12)"; \
	fi

focus-env: $(FOCUS_VENV)/.ready ## the Python 3.12 virtualenv with focus-validator, for the FOCUS export test

# Debian's Chromium renders report.html in a test; installed when missing and this user can (root, apt).
browser: ## headless Chromium for the report test (Debian's package; the test is skipped, saying why, without it)
	@if command -v chromium >/dev/null 2>&1; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the report rendering test"; \
		{ apt-get install -y -q chromium >/dev/null 2>&1 || \
		  { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }; } || \
		echo "browser: chromium could not be installed; the report rendering test will be skipped"; \
	else \
		echo "browser skipped: chromium is not installed and this user cannot apt-get it"; \
	fi

demo: $(VENV)/.ready ## simulate a month of several teams' SageMaker use through the real handlers on moto
	$(BIN)/sagecost demo --out $(DEMO_OUT)

test: lint typecheck template focus-env browser pytest build ## everything CI runs: ruff, mypy --strict, cfn-lint, sam validate, pytest, sam build

lint: $(VENV)/.ready ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.ready ## apply ruff's formatting and fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(VENV)/.ready ## mypy --strict over the package, the functions, the tests and the bench
	$(BIN)/mypy

template: $(TOOLS)/.ready ## cfn-lint and sam validate --lint (offline, no credentials)
	$(TOOLS)/bin/cfn-lint template.yaml
	AWS_REGION=us-east-1 $(TOOLS)/bin/sam validate --lint

# The deploy check (tests/e2e/test_deployed_stack.py, test_iam_grants.py) translates template.yaml with
# aws-sam-translator from the tools virtualenv, so the whole run gets it (and fails, not skips, without it).
DEPLOY_CHECK_ENV := SAGECOST_TOOLS_PYTHON=$(abspath $(TOOLS))/bin/python

pytest: $(VENV)/.ready $(TOOLS)/.ready ## unit, integration and end-to-end tests, the deploy check included (sockets disabled)
	$(DEPLOY_CHECK_ENV) $(BIN)/python -m pytest

deploy-check: $(VENV)/.ready $(TOOLS)/.ready ## the stack created on moto's CloudFormation; every call of every function granted by its role
	$(DEPLOY_CHECK_ENV) $(BIN)/python -m pytest tests/e2e/test_deployed_stack.py tests/e2e/test_iam_grants.py

unit: $(VENV)/.ready ## only the pure tests
	$(BIN)/python -m pytest tests/unit

integration: $(VENV)/.ready ## only the moto tests
	$(BIN)/python -m pytest tests/integration tests/test_template.py

e2e: $(VENV)/.ready ## only the whole-simulation tests
	$(BIN)/python -m pytest tests/e2e

build: $(TOOLS)/.ready ## sam build with python3.12 (skipped, and said so, where no 3.12 interpreter exists)
	@if [ -n "$(PY312_BIN)" ]; then \
		PATH="$(PY312_BIN):$$PATH" $(TOOLS)/bin/sam build --build-dir .aws-sam/build; \
	else \
		echo "sam build skipped: no python3.12 interpreter on this machine (the Lambda runtime is python3.12)"; \
	fi

bench: $(VENV)/.ready build ## requests per event and per sweep, throughput, import time, peak memory, the built layer
	PYTHONPATH=shared:functions $(BIN)/python -m bench

clean: ## remove virtualenvs, build output and demo output
	rm -rf $(VENV) $(TOOLS) $(FOCUS_VENV) .venv-lambda .aws-sam out .pytest_cache .mypy_cache .ruff_cache .hypothesis
