# The two commands of the README: `make run` and `make test`. Everything they need
# (a virtualenv with the locked dependencies, the database, demo data) is set up here.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP_INSTALL := $(VENV)/bin/pip install --disable-pip-version-check --progress-bar on
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install install-base run serve test lint format migrations-check clean worker beat

# One virtualenv, two stamps. `make run` installs only what serving needs
# (requirements/base.lock); `make test` and `make lint` install the dev lock, which is
# the base lock (same pins) plus the tools, so it leaves the base stamp up to date too:
# `make run` after `make test` installs nothing, `make test` after `make run` adds the tools.
$(PY):
	@echo "==> Creating the virtualenv $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-base: requirements/base.lock | $(PY)
	@echo "==> Installing what serving needs (requirements/base.lock) into $(VENV)"
	$(PIP_INSTALL) -r requirements/base.lock
	touch $@

$(VENV)/.installed-dev: requirements/dev.lock | $(PY)
	@echo "==> Installing the development tools too (requirements/dev.lock) into $(VENV)"
	$(PIP_INSTALL) -r requirements/dev.lock
	touch $@ $(VENV)/.installed-base

install-base: $(VENV)/.installed-base

install: $(VENV)/.installed-dev

run: install-base
	@echo "==> Applying migrations (SQLite var/db.sqlite3 unless DATABASE_URL says otherwise)"
	$(PY) manage.py migrate --noinput
	@echo "==> Loading the demo data"
	$(PY) manage.py load_demo_data
	@echo ""
	@echo "  API:    http://localhost:$(PORT)/api/v1/"
	@echo "  Admin:  http://localhost:$(PORT)/admin/"
	@echo "  Docs:   http://localhost:$(PORT)/api/docs/  (the OpenAPI playground)"
	@echo ""
	@echo "==> Serving on http://localhost:$(PORT)/ (Ctrl-C stops it)"
	PUBLIC_BASE_URL=http://localhost:$(PORT) $(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

# The linters, as CI runs them before the tests (.ci/run): ruff, then mypy with
# django-stubs and the DRF stubs (configured in pyproject.toml: [tool.mypy]).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# --- Background work (docs/deploy.md: Processes) ---------------------------------------
# A Celery worker runs every call to Agora and the periodic jobs; run exactly one beat
# in a deployment. Both need a broker: CELERY_BROKER_URL or REDIS_URL, e.g.
#   REDIS_URL=redis://127.0.0.1:6379/0 CELERY_BROKER_URL=redis://127.0.0.1:6379/1 make worker
# (the web process, `make run`, must be given the same broker to hand its tasks over;
# without one it runs them itself).
WORKER_CONCURRENCY ?= 2

worker: install
	$(PY) -m celery -A allmine worker --loglevel=INFO --concurrency=$(WORKER_CONCURRENCY)

beat: install
	@mkdir -p var
	$(PY) -m celery -A allmine beat --loglevel=INFO --schedule=var/celerybeat-schedule

# Regenerate the lock files after changing pyproject.toml.
lock: install
	$(VENV)/bin/pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml -o requirements/base.lock --python-version 3.11
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev -o requirements/dev.lock --python-version 3.11

clean:
	rm -rf $(VENV) var .pytest_cache

# --- Benchmarks (bench/README.md) ----------------------------------------------------
# Against gunicorn with the production settings, on the PostgreSQL of 127.0.0.1:5432
# (database allmine_bench, created and dropped) and the Redis of 127.0.0.1:6379
# (database 2, flushed); the load comes from wrk (apt-get installs it when run as root).
# bench-event and bench-nodes load with bench/loadgen.py; bench-nodes also runs HAProxy
# (apt-get installs it), a Celery worker (broker: Redis database 9) and the Agora stand-in.
.PHONY: bench bench-join bench-audience bench-create bench-event bench-nodes

bench-join: install
	$(PY) bench/run.py join

bench-audience: install
	$(PY) bench/run.py audience

bench-create: install
	$(PY) bench/run.py create

bench-event: install
	$(PY) bench/run.py event

bench-nodes: install
	$(PY) bench/run.py nodes

bench: install
	$(PY) bench/run.py all
