# Chaoyang Grid — set-up, demo, tests and benchmarks. See README.md.
# Every target is idempotent: a second run only checks what is already there.

SHELL := /bin/bash
export DATABASE_URL ?= postgis://postgres@127.0.0.1:5432/chaoyang
export REDIS_URL ?= redis://127.0.0.1:6379/0
export PORT ?= 8000
PY := .venv/bin/python
VENV_STAMP := .venv/.installed-$(shell sha1sum requirements.lock | cut -c1-12)
NPM_STAMP := static/vendor/.installed-$(shell sha1sum chaoyang/frontend/package-lock.json | cut -c1-12)

.PHONY: demo test test-fast lint format bench setup system services messages migrate seed serve clean-stamps

## make demo: install what is missing, start services, migrate, load the demo, serve web + worker + beat
demo: setup migrate seed
	@bash chaoyang/scripts/run-all.sh

## make test: the same set-up (without serving), then lint and the whole test suite
test: setup lint
	DJANGO_SETTINGS_MODULE=chaoyang.settings.test $(PY) -m pytest $(ARGS)

## make test-fast: the inner loop: no lint, no browser, no Celery worker, no slow suites
test-fast: setup
	DJANGO_SETTINGS_MODULE=chaoyang.settings.test $(PY) -m pytest -m "not browser and not celery and not slow" $(ARGS)

setup: system $(VENV_STAMP) $(NPM_STAMP) services messages

messages: $(VENV_STAMP)
	@$(PY) manage.py compilemessages --ignore=.venv --ignore=chaoyang/frontend -v 0

system:
	@bash chaoyang/scripts/install-system.sh

$(VENV_STAMP): requirements.lock
	@test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	@rm -f .venv/.installed-*; touch $@

$(NPM_STAMP): chaoyang/frontend/package-lock.json chaoyang/frontend/package.json
	cd chaoyang/frontend && npm ci --no-audit --no-fund --loglevel=error
	bash chaoyang/scripts/vendor-assets.sh
	@rm -f static/vendor/.installed-*; touch $@

services:
	@bash chaoyang/scripts/ensure-services.sh

migrate: setup
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo --population 50000

serve:
	@bash chaoyang/scripts/run-all.sh

lint: $(VENV_STAMP)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy .

format: $(VENV_STAMP)
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

## make bench: benchmarks beside their raw-SQL baselines; writes bench/results/latest.json
bench: seed
	$(PY) -m bench.run

clean-stamps:
	rm -f .venv/.installed-* static/vendor/.installed-*
