# Lembra: `make run` to chat, `make test` to check everything.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONDONTWRITEBYTECODE = 1

.PHONY: install run serve-production test test-postgres lint bench clean
POSTGRES_URL ?= postgresql+psycopg2://postgres@127.0.0.1:5432/test

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

# Serves models/default; trains a tiny model first only when no bundle exists.
run: install
	@dir=$$($(PY) -m train.ensure_model) && \
	echo "Lembra on http://$(HOST):$(PORT) (model: $$dir)" && \
	LEMBRA_MODEL_DIR=$$dir exec $(VENV)/bin/gunicorn -c gunicorn.conf.py --bind $(HOST):$(PORT) app:app

# Production: nginx (deploy/nginx.conf) on $(HOST):$(PORT) in front of gunicorn on loopback.
# Set SECRET_KEY and LEMBRA_PRODUCTION=1 first; needs Debian's nginx (apt-get install nginx).
serve-production: install
	@dir=$$($(PY) -m train.ensure_model) && \
	LEMBRA_MODEL_DIR=$$dir exec $(PY) deploy/serve.py --listen $(HOST):$(PORT)

test: install
	$(PY) -m pytest

# The same suite against a PostgreSQL server (each test session gets a fresh database on it).
test-postgres: install
	LEMBRA_TEST_DATABASE_URL=$(POSTGRES_URL) $(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) -m bench.decode --json
	$(PY) -m bench.train --json

clean:
	rm -rf $(VENV) instance .pytest_cache
