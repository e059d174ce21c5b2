# The README's commands. `make run` runs the whole task center; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint clean

# Re-install only when a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	@command -v mysql_config >/dev/null 2>&1 || command -v mariadb_config >/dev/null 2>&1 || \
	  { echo "mysqlclient needs libmariadb-dev and pkg-config: run 'apt-get install -y libmariadb-dev pkg-config' (Debian) first"; \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      (apt-get install -y -q libmariadb-dev pkg-config || (apt-get update -q && apt-get install -y -q libmariadb-dev pkg-config)); \
	    else exit 1; fi; }
	@command -v chromedriver >/dev/null 2>&1 || \
	  { echo "the browser test needs Debian's chromium and chromium-driver"; \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      (apt-get install -y -q chromium chromium-driver || (apt-get update -q && apt-get install -y -q chromium chromium-driver)); \
	    else exit 1; fi; }
	@command -v promtool >/dev/null 2>&1 || \
	  { echo "the Prometheus rules test needs promtool (Debian's prometheus package)"; \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      (apt-get install -y -q --no-install-recommends prometheus || (apt-get update -q && apt-get install -y -q --no-install-recommends prometheus)); \
	    else exit 1; fi; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_admin
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py run_taskcenter --host $(HOST) --port $(PORT)

# Tests run against real MySQL/MariaDB and Redis: these defaults are the local servers.
# Point them elsewhere with TEST_DATABASE_URL / TEST_REDIS_URL.
TEST_DATABASE_URL ?= mysql://root:@127.0.0.1:3306/taskcenter
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

test: $(VENV)/.installed
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf $(VENV) var
