# Service Star — the two commands a newcomer needs: `make demo` and `make test`.
# Both create the virtual environment in .venv on first use; nothing else to install.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install install-dev run lint check-translations messages clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# axe-core (accessibility checks in the browser tests) comes from the npm registry, pinned in
# package-lock.json; without npm those checks are skipped with a message.
$(VENV)/.dev-installed: requirements.txt requirements-dev.txt package.json package-lock.json $(VENV)/.runtime-installed
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --silent; \
	else echo "npm not found: the accessibility checks (axe-core) will be skipped"; fi
	touch $@

install: $(VENV)/.runtime-installed

install-dev: $(VENV)/.dev-installed

## make demo: install, migrate, seed the demo operator, then run web + Celery worker + beat.
demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py seed_demo --base-url http://$(HOST):$(PORT)
	HOST=$(HOST) PORT=$(PORT) bin/demo-run

## make test: the whole suite. SQLite unless DATABASE_URL / REDIS_URL point at servers.
test: install-dev
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run

## make messages: refresh the .po files after changing user-facing text, then compile.
messages: install-dev
	$(PY) manage.py makemessages --locale zh_Hans --locale en --ignore '.venv/*' --ignore 'bench/*' --ignore 'tests/*'
	$(PY) manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf var staticfiles
