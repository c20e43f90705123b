# Everything a fresh clone needs: `make run` serves the seeded site, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format venv vnu seed clean bench bench-scale bench-markdown audit

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# The Nu HTML Checker (vnu.jar from the npm package vnu-jar) for tests/test_html_validity.py; it runs on java.
# Without scripts (.npmrc says so too): vnu-jar's postinstall would download a Java runtime of its own.
vnu: node_modules/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# Development server on the embedded SQLite default unless DATABASE_URL is set.
run: venv
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py load_seed
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py dev_admin
	@echo "Serving kb on http://$(HOST):$(PORT)/  (Ctrl+C to stop)"
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The whole suite on PostgreSQL: DATABASE_URL when set, else postgres@127.0.0.1:5432.
# One worker per core (pytest-xdist), each with its own test database; a file's tests stay
# together on one worker, as some share a server or a relay port.
PYTEST_WORKERS ?= auto
test: venv vnu
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Production settings under gunicorn on 127.0.0.1, loaded by wrk from a second process
# (PostgreSQL and Redis on this machine; wrk installed from Debian when missing).
# Writes bench/results.md and the table in README.md.
bench: venv
	bash bench/run.sh

# Issue 12's targets for hostile Markdown: 100 ms to render, 200 ms through the live preview,
# for every body in tests/hostile_corpus.py; writes bench/results-markdown.md.
bench-markdown: venv
	$(BIN)/python bench/markdown.py

# Issue #14's table at 100,000 articles: production settings, no page cache, one client. Generates
# the database kb_scale once (generate_corpus, tens of minutes) and reuses it; writes
# bench/results-scale.md and the scale table in README.md.
bench-scale: venv
	bash bench/scale.sh

# Issue #15's audit: Lighthouse (mobile and desktop, on Debian's chromium) and the Nu checker on home, a
# category, an article, a tag, search and the API reference, served by gunicorn under production settings
# (database kb_audit, Redis db 13, port 8060). Writes bench/results-audit.md and the table in README.md.
audit: venv vnu
	bash bench/audit.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules staticfiles .pytest_cache .ruff_cache
