# CivicStat: `make demo` sets up and serves the Kansas City demo; `make test` runs the whole suite.
SHELL := /bin/bash
PY := .venv/bin/python
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
VENDOR := civicstat/static/vendor
# uv from PATH, else the one pip installs (as a module: pip's --user scripts folder may not be on PATH).
UV := $(or $(shell command -v uv 2>/dev/null),python3 -m uv)

.PHONY: demo serve setup r python secret frontend static browser migrate test test-fast lint format bench bench-ingest bench-map bench-measures bench-alerts bench-open311 bench-load bench-geocoder bench-api clean

demo: setup migrate  ## Install everything, load the Kansas City demo, serve it with a worker
	$(MANAGE) load_demo
	$(MAKE) serve

serve: secret  ## Serve on http://$(HOST):$(PORT) with granian; run the task worker and sync scheduler beside it
	@echo "CivicStat is starting on http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	@# The server in the foreground gets Ctrl-C's INT once, as the terminal sends it; when it has
	@# stopped, the shell stops the worker and the scheduler (one TERM each: granian, signalled
	@# twice while shutting down, can hang).
	@trap 'kill -TERM $$(jobs -p) 2>/dev/null; wait' EXIT; \
	  $(MANAGE) db_worker & \
	  $(MANAGE) run_scheduler & \
	  $(PY) -m civicstat.server --host $(HOST) --port $(PORT)

setup: python secret frontend static browser

# A browser for the page tests (tests/e2e): found, or installed (apt-get as root or with
# passwordless sudo, else Playwright's own download), or a message saying what to install.
browser: python
	@$(PY) -m tests.e2e.ensure_browser

# R with httr and jsonlite, for the test that runs an R analyst's Socrata script against the SODA
# API (civicstat/api/tests/test_r_client.py): the distribution's packages, as root or with
# passwordless sudo. RSocrata itself is on CRAN only, which the install does not reach. Without R
# that test is skipped, and this says why.
R_PACKAGES = r-base-core r-cran-httr r-cran-jsonlite
r:
	@Rscript -e 'library(httr); library(jsonlite)' >/dev/null 2>&1 || { \
	  sudo=$$( [ "$$(id -u)" = 0 ] && echo "" || { sudo -n true 2>/dev/null && echo "sudo -n"; } || echo no); \
	  [ "$$sudo" != no ] && command -v apt-get >/dev/null && \
	  { $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(R_PACKAGES) >/dev/null 2>&1 || \
	    { $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(R_PACKAGES) >/dev/null 2>&1; }; } && \
	  echo "R client test: installed $(R_PACKAGES)"; } || \
	  echo "R client test: will be skipped; install R with the httr and jsonlite packages to run it"

python: .venv/.synced
.venv/.synced: pyproject.toml uv.lock
	@# Debian's and Ubuntu's own Python refuse a plain `pip install` (PEP 668): then --user.
	@command -v uv >/dev/null || python3 -m uv --version >/dev/null 2>&1 || \
	  python3 -m pip install --quiet uv 2>/dev/null || \
	  python3 -m pip install --quiet --user --break-system-packages uv
	$(UV) sync --frozen
	@touch $@

# This checkout's own random secret key, made once and readable by its owner only (var/ is not
# committed). Settings read it when neither SECRET_KEY nor SECRET_KEY_FILE is set; with DEBUG off
# nothing serves or sends on the public development key (README, "Secret key").
secret: var/secret_key
var/secret_key: | python
	@mkdir -p var
	@umask 077; $(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > $@.new && mv $@.new $@

frontend: node_modules/.package-lock.json $(VENDOR)/.copied
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
$(VENDOR)/.copied: node_modules/.package-lock.json frontend/charts.js
	mkdir -p $(VENDOR)/leaflet
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	cp -r node_modules/leaflet/dist/. $(VENDOR)/leaflet/
	cp node_modules/axe-core/axe.min.js $(VENDOR)/
	node_modules/.bin/esbuild frontend/charts.js --bundle --minify --format=iife \
	  --target=es2020 --log-level=warning --outfile=$(VENDOR)/charts.js
	@touch $@

static: var/static_root/.collected
# Every app's static files, not only civicstat/static: a page naming a file that was not collected
# is a 500 under the manifest storage.
var/static_root/.collected: .venv/.synced $(VENDOR)/.copied $(shell find civicstat -path '*/static/*' -type f -not -path '*/vendor/*')
	$(MANAGE) collectstatic --noinput -v0
	@touch $@

migrate: python
	$(MANAGE) migrate --noinput -v0

test: setup r  ## The whole suite on both cores (set DATABASE_URL for PostgreSQL)
	$(PY) -m pytest -n 2 -q --durations=10

lint: python
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy .

format: python
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

bench: bench-ingest bench-map bench-measures bench-alerts bench-open311 bench-load bench-geocoder bench-api

bench-ingest: setup  ## Import throughput and memory, SQLite and PostgreSQL, beside raw sqlite3
	$(PY) bench/bench_ingest.py

bench-map: setup  ## Map cluster queries at zooms 10-16 and the department comparison, beside PostGIS
	@# PostGIS for the PostgreSQL baseline, from Debian's packages for the local server's version;
	@# without it the baseline is a plain GROUP BY of rounded coordinates.
	-@pg=$$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1); \
	  [ -z "$$pg" ] || dpkg -s postgresql-$$pg-postgis-3 >/dev/null 2>&1 || \
	  apt-get install -y -qq postgresql-$$pg-postgis-3 >/dev/null 2>&1 || true
	$(PY) bench/bench_map.py --sizes $(or $(SIZES),kc,1m) \
	  $(if $(BASELINE_VIEWPORTS),--baseline-viewports $(BASELINE_VIEWPORTS))

bench-measures: setup  ## Demo measures from rollups beside SQL over cases, 1 M cases (SIZES=1m,10m)
	$(PY) bench/bench_measures.py --sizes $(or $(SIZES),1m)

bench-open311: setup  ## Open311 requests.json p50/p95/p99 under 64 clients, beside FastAPI+uvicorn
	@# wrk, the load generator, from Debian's packages (C: the clients must not eat the cores).
	@command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null 2>&1 || \
	  { echo "install wrk (apt-get install wrk) to run this benchmark"; exit 1; }
	$(PY) bench/bench_open311.py

bench-load: setup  ## Every public page and API answer under 64 connections, SQLite and PostgreSQL
	@command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null 2>&1 || \
	  { echo "install wrk (apt-get install wrk) to run this benchmark"; exit 1; }
	$(PY) bench/bench_load.py

bench-geocoder: setup  ## The place search: 1,000 queries against the KC demo's address index
	$(PY) bench/bench_geocoder.py

clean:
	rm -rf .venv node_modules $(VENDOR) var

bench-api: setup  ## /api/v1 page, SoQL counts and a CSV export, beside Datasette (SIZES=1m,10m ENGINES=sqlite)
	@for engine in $(or $(ENGINES),sqlite postgresql); do \
	  $(PY) bench/bench_api.py --sizes $(or $(SIZES),1m) --engine $$engine || exit 1; done

bench-alerts: setup  ## Alert matching: 1 M radius subscriptions × 2,000 new cases vs FixMyStreet's loop
	$(PY) bench/bench_alerts.py
