"""docker-compose.yml, checked without a Docker engine: the file is parsed with
PyYAML, variables are interpolated as Compose does, and what the services run
is compared with the settings and, for the web healthcheck, a live server."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ["web", "worker", "gpu-worker"]
LONG_RUNNING = ["postgres", "redis", *APP_SERVICES]

# What an operator exports before `docker compose up`.
OPERATOR_ENV = {
    "POSTGRES_PASSWORD": "s3cret-db-password",
    "SECRET_KEY": "k" * 20 + "-a-sixty-four-character-production-secret-key-x",
    "ALLOWED_HOSTS": "tutor.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://tutor.example.org",
}

VAR = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} and $$ escapes."""

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name", "op", "arg")
        value = env.get(name, "")
        if value:
            return value
        if op == ":?":
            raise LookupError(f"{name}: {arg}")
        return arg if op == ":-" else ""

    return VAR.sub(substitute, value)


def argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else list(command)


def option(args: list[str], *names: str) -> str:
    for i, arg in enumerate(args):
        if arg in names:
            return args[i + 1]
    raise AssertionError(f"none of {names} in {args}")


@pytest.fixture(scope="module")
def compose() -> dict:
    with open(ROOT / "docker-compose.yml") as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def app_env(service: dict, env: dict[str, str] = OPERATOR_ENV) -> dict[str, str]:
    return {key: interpolate(str(value), env) for key, value in service["environment"].items()}


def test_compose_defines_the_database_broker_web_and_both_workers(services):
    assert {"postgres", "redis", "web", "worker", "gpu-worker", "migrate"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")


def test_all_app_services_run_the_image_built_from_the_repo(services):
    assert (ROOT / "Dockerfile").is_file()
    for name in [*APP_SERVICES, "migrate"]:
        assert services[name]["build"] == "."
        assert services[name]["image"] == services["web"]["image"]


def test_worker_consumes_the_agents_queue(services):
    args = argv(services["worker"]["command"])
    assert args[:4] == ["celery", "-A", "tutor", "worker"]
    assert option(args, "-Q", "--queues").split(",") == ["agents"]


def test_gpu_worker_runs_concurrent_turns_as_threads_of_one_process(services):
    """Threads share one loaded model and one batching engine (docs/serving.md)."""
    args = argv(services["gpu-worker"]["command"])
    assert args[:4] == ["celery", "-A", "tutor", "worker"]
    assert option(args, "-Q", "--queues").split(",") == ["gpu"]
    assert option(args, "-P", "--pool") == "threads"
    assert int(option(args, "-c", "--concurrency")) >= 2


def test_gpu_worker_reserves_an_nvidia_device(services):
    devices = services["gpu-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] and d.get("count", 0) >= 1 for d in devices)


def test_worker_queues_are_the_queues_celery_routes_tasks_to(services):
    consumed = set()
    for name in ["worker", "gpu-worker"]:
        consumed.update(option(argv(services[name]["command"]), "-Q", "--queues").split(","))
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert consumed == routed | {settings.CELERY_TASK_DEFAULT_QUEUE}


@pytest.mark.parametrize("name", [*APP_SERVICES, "migrate"])
def test_app_service_runs_distributed_with_debug_off(services, name):
    env = app_env(services[name])
    assert env["DATABASE_URL"].startswith("postgres://")
    assert env["REDIS_URL"].startswith("redis://")
    assert env["DEBUG"] == "0"
    assert env["SECRET_KEY"] == OPERATOR_ENV["SECRET_KEY"]


def test_app_services_share_one_environment(services):
    envs = [services[name]["environment"] for name in [*APP_SERVICES, "migrate"]]
    assert all(env == envs[0] for env in envs)


def test_database_and_redis_urls_point_at_the_compose_services(services):
    env = app_env(services["web"])
    db = urlsplit(env["DATABASE_URL"])
    postgres = {k: interpolate(str(v), OPERATOR_ENV) for k, v in services["postgres"]["environment"].items()}
    assert db.hostname == "postgres"
    assert db.username == postgres["POSTGRES_USER"]
    assert db.password == postgres["POSTGRES_PASSWORD"] == OPERATOR_ENV["POSTGRES_PASSWORD"]
    assert db.path.lstrip("/") == postgres["POSTGRES_DB"] == "tutorgraph"
    assert urlsplit(env["REDIS_URL"]).hostname == "redis"


@pytest.mark.parametrize("missing", ["SECRET_KEY", "POSTGRES_PASSWORD", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS"])
def test_compose_refuses_to_start_without_a_required_secret_or_host(services, missing):
    env = {k: v for k, v in OPERATOR_ENV.items() if k != missing}
    with pytest.raises(LookupError, match=missing):
        app_env(services["web"], env)


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_service_has_a_healthcheck(services, name):
    test = services[name]["healthcheck"]["test"]
    assert test and test != ["NONE"]
    assert services[name].get("restart") == "unless-stopped"


def test_postgres_and_redis_healthchecks_probe_the_servers(services):
    assert "pg_isready" in argv(services["postgres"]["healthcheck"]["test"])
    assert argv(services["redis"]["healthcheck"]["test"])[-2:] == ["redis-cli", "ping"]


def test_web_healthcheck_requests_readyz_with_python(services):
    test = services["web"]["healthcheck"]["test"]
    assert test[0] in {"CMD", "CMD-SHELL"}
    assert test[1] == "python"  # python:3.11-slim has no curl
    assert "http://127.0.0.1:8000/readyz" in " ".join(test)  # readiness: every dependency checked


@pytest.mark.parametrize("name", ["worker", "gpu-worker"])
def test_worker_healthcheck_pings_its_own_node(services, name):
    nodename = option(argv(services[name]["command"]), "-n", "--hostname")
    probe = argv(interpolate(services[name]["healthcheck"]["test"][1], OPERATOR_ENV))
    assert probe[:5] == ["celery", "-A", "tutor", "inspect", "ping"]
    # Celery's %h is the host name, which the shell sees as $HOSTNAME.
    assert option(probe, "-d", "--destination") == nodename.replace("%h", "$HOSTNAME")


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_waits_for_healthy_postgres_redis_and_migrations(services, name):
    depends_on = services[name]["depends_on"]
    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["redis"]["condition"] == "service_healthy"
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"


def test_migrate_runs_once_after_postgres_is_healthy(services):
    migrate = services["migrate"]
    assert argv(migrate["command"]) == ["python", "manage.py", "migrate", "--noinput"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" not in migrate


def test_web_serves_the_asgi_app_and_can_run_several_replicas(services):
    web = services["web"]
    args = argv(web["command"])
    assert args[:2] == ["uvicorn", "tutor.asgi:application"]
    assert option(args, "--host") == "0.0.0.0"
    assert option(args, "--port") == "8000"
    replicas = web["deploy"]["replicas"]
    assert replicas >= 2
    # A single fixed host port would let only one replica start.
    for port in web.get("ports", []):
        published = interpolate(str(port), {}).rsplit(":", 1)[0]
        first, _, last = published.partition("-")
        assert last and int(last) - int(first) + 1 >= replicas, port


def test_image_installs_the_frontend_libraries_before_collecting_static_files():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "pip install -r requirements.txt" in dockerfile
    # STATICFILES_DIRS includes frontend/node_modules/katex/dist.
    assert dockerfile.index("npm ci") < dockerfile.index("frontend/node_modules") < dockerfile.index("collectstatic")
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "var", "frontend/node_modules", ".git"} <= set(ignored)


def test_compose_environment_passes_check_deploy(services, tmp_path):
    """`check` does not connect to PostgreSQL or Redis, so the exact
    environment the containers get can be checked here."""
    env = {k: v for k, v in os.environ.items() if k not in services["web"]["environment"]}
    env.update(app_env(services["web"]), DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="tutor.settings")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout + result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_web_healthcheck_passes_against_a_production_server(services, tmp_path):
    """The probe must get past ALLOWED_HOSTS and SECURE_SSL_REDIRECT.

    Runs uvicorn with the compose environment, except for SQLite and no Redis
    in place of the containers, and the probe as the container would.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in services["web"]["environment"]}
    env.update(app_env(services["web"]), DJANGO_SETTINGS_MODULE="tutor.settings", DATA_DIR=str(tmp_path))
    env.update(DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3", REDIS_URL="")
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tutor.asgi:application", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.2)
        test = services["web"]["healthcheck"]["test"]
        assert test[0] == "CMD"
        probe = [interpolate(arg, env).replace(":8000/", f":{port}/") for arg in test[1:]]
        probe[0] = sys.executable
        result = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=30, check=False)
        assert result.returncode == 0, result.stderr
        # And the probe does fail when the server answers with an error.
        env_bad = {**env, "ALLOWED_HOSTS": "not-served.example.org"}
        result = subprocess.run(probe, env=env_bad, capture_output=True, text=True, timeout=30, check=False)
        assert result.returncode != 0
        assert "400" in result.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_exactly_one_beat_schedules_the_periodic_tasks(services):
    args = argv(services["beat"]["command"])
    assert args[:4] == ["celery", "-A", "tutor", "beat"]
    assert "deploy" not in services["beat"] or services["beat"]["deploy"].get("replicas", 1) == 1
