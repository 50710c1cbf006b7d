"""The deployment files agree with the code: docker-compose.yml, the Dockerfile, .env.example and settings.

Docker cannot run in CI, so these checks are what stands between a renamed module or a misspelt variable and
a stack that fails on its first `docker compose up`.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "voucher_service" / "settings.py"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict] = COMPOSE["services"]
# Services built from our Dockerfile run our code and read our settings; postgres and redis are images.
APP_SERVICES = {name: service for name, service in SERVICES.items() if "build" in service}

# Helpers in settings.py whose first argument is the name of an environment variable.
ENV_READERS = {"env_bool", "env_int", "env_list", "getenv"}


def settings_env_reads() -> set[str]:
    """Every environment variable settings.py reads by literal name.

    Walks the AST rather than grepping, so formatting, quoting and line breaks do not matter. The helpers'
    own bodies read a parameter (``os.environ.get(name)``) and are skipped; any other read of a computed name
    fails the test, because this check (and the documentation) could not see it.
    """
    tree = ast.parse(SETTINGS.read_text(), filename=str(SETTINGS))
    names: set[str] = set()
    computed: list[int] = []

    def literal(node: ast.expr) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)
        else:
            computed.append(node.lineno)

    def is_environ(node: ast.expr) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "environ"

    helper_bodies = {
        id(node)
        for definition in ast.walk(tree)
        if isinstance(definition, ast.FunctionDef) and definition.name in ENV_READERS
        for node in ast.walk(definition)
    }
    for node in ast.walk(tree):
        if id(node) in helper_bodies:
            continue
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            environ_call = isinstance(func, ast.Attribute) and is_environ(func.value) and name in {"get", "pop"}
            if environ_call or name in ENV_READERS:
                literal(node.args[0])
        elif isinstance(node, ast.Subscript) and is_environ(node.value):
            literal(node.slice)

    assert not computed, f"settings.py reads environment variables by computed name on lines {computed}"
    return names


def compose_environment(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):  # the `- NAME=value` form
        environment = dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
    return environment


def env_example_names() -> set[str]:
    # Optional variables are documented as commented-out assignments (`# NAME=value`).
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def test_settings_scan_finds_the_known_variables():
    # Guards the scanner itself: if it silently found nothing, the checks below would pass vacuously.
    assert {"DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS", "CELERY_BROKER_URL", "DEBUG"} <= settings_env_reads()


def test_app_services_exist():
    assert {"migrate", "web", "worker", "beat"} <= set(APP_SERVICES)


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_compose_sets_only_variables_settings_read(name):
    unread = set(compose_environment(APP_SERVICES[name])) - settings_env_reads()
    assert not unread, f"{name} sets {sorted(unread)}, which voucher_service/settings.py never reads"


def test_env_example_documents_every_variable_settings_read():
    undocumented = settings_env_reads() - env_example_names()
    assert not undocumented, f".env.example does not document {sorted(undocumented)}"


def test_production_services_get_the_essential_variables():
    for name, service in APP_SERVICES.items():
        environment = compose_environment(service)
        for variable in (
            "DATABASE_URL",
            "CELERY_BROKER_URL",
            "SECRET_KEY",
            "PERSONAL_ID_HMAC_KEY",
            "LEDGER_SIGNING_KEY",
            "ALLOWED_HOSTS",
        ):
            assert environment.get(variable), f"{name} does not set {variable}"
        assert environment.get("DEBUG", "0") in {"0", "false", "False", ""}, f"{name} runs with DEBUG on"


def _command(service: dict) -> list[str]:
    command = service["command"]
    return command.split() if isinstance(command, str) else list(command)


def _check_command(argv: list[str]) -> str:
    """Resolve what a service's command runs; return the kind of process it is."""
    program = Path(argv[0]).name
    if program == "gunicorn":
        target = next(arg for arg in argv[1:] if re.fullmatch(r"[\w.]+:\w+", arg))
        module_name, attribute = target.split(":")
        # The WSGI module refuses to load where a public server would be unsafe (voucher_service.checks), and the
        # test run's own settings (embedded, Host "testserver") are such a place; here only its shape matters.
        with mock.patch("voucher_service.checks.startup_guard"):
            module = importlib.import_module(module_name)
        assert callable(getattr(module, attribute, None)), f"{target} is not a WSGI callable"
        return "web"
    if program == "celery":
        app_name = argv[argv.index("-A") + 1]
        app = find_app(app_name)
        assert isinstance(app, Celery)
        assert app is importlib.import_module("voucher_service.celery").app
        subcommand = next(arg for arg in argv[argv.index("-A") + 2 :] if not arg.startswith("-"))
        assert subcommand in {"worker", "beat"}, f"unexpected celery subcommand {subcommand}"
        return f"celery {subcommand}"
    if program.startswith("python") and argv[1] == "manage.py":
        assert argv[2] in get_commands(), f"manage.py has no {argv[2]} command"
        return f"manage.py {argv[2]}"
    raise AssertionError(f"unrecognised command {argv}")


def test_service_commands_point_at_real_code():
    kinds = {name: _check_command(_command(service)) for name, service in APP_SERVICES.items()}
    assert kinds["web"] == "web"
    assert kinds["worker"] == "celery worker"
    assert kinds["migrate"] == "manage.py migrate"
    # Exactly one beat: two would enqueue every periodic task twice.
    assert list(kinds.values()).count("celery beat") == 1


def test_dockerfile_default_command_is_the_wsgi_app():
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.*?\])\s*$", dockerfile, flags=re.MULTILINE | re.DOTALL)
    assert cmd, "Dockerfile has no exec-form CMD"
    assert _check_command(json.loads(cmd.group(1).replace("\\\n", ""))) == "web"
    assert re.search(r"^USER (?!root\b)\S+", dockerfile, flags=re.MULTILINE), "the image must not run as root"
    assert "-c requirements.lock" in dockerfile, "the image must install the pinned versions"


def test_the_dockerfile_collectstatic_step_can_load_production_settings():
    # given the variables the image build sets for `manage.py collectstatic` (production mode: DATABASE_URL)
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    [step] = [line for line in dockerfile.splitlines() if line.startswith("RUN ") and "collectstatic" in line]
    environment = dict(re.findall(r"\b([A-Z][A-Z0-9_]*)=(\S+)", step.partition("manage.py")[0]))
    assert "DATABASE_URL" in environment
    # when settings load with only those (`check` needs no database, so nothing connects)
    result = _manage(["check"], **environment)
    # then every secret production requires is among them
    assert result.returncode == 0, result.stdout + result.stderr


def test_backing_services_have_healthchecks_and_the_app_waits_for_them():
    assert "pg_isready" in json.dumps(SERVICES["postgres"]["healthcheck"]["test"])
    assert "ping" in json.dumps(SERVICES["redis"]["healthcheck"]["test"])
    for name, service in APP_SERVICES.items():
        depends_on = service["depends_on"]
        assert depends_on["postgres"]["condition"] == "service_healthy", name
        if name != "migrate":
            assert depends_on["redis"]["condition"] == "service_healthy", name
            assert depends_on["migrate"]["condition"] == "service_completed_successfully", name


def _manage(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    # A clean environment: nothing from the developer's shell or the test run (SECRET_KEY, DEBUG…) leaks in.
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1", **env}
    return subprocess.run(  # noqa: S603 (fixed argv)
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings():
    # `check` runs no database checks unless asked (--database), so no PostgreSQL is needed here.
    result = _manage(
        ["check", "--deploy", "--fail-level", "WARNING"],
        DATABASE_URL="postgres://x@127.0.0.1/x",
        SECRET_KEY=secrets.token_urlsafe(50),
        PERSONAL_ID_HMAC_KEY=secrets.token_urlsafe(50),
        LEDGER_SIGNING_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="vouchers.example.gov.cn",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_without_secret_key_refuses_to_start():
    result = _manage(["check"], DATABASE_URL="postgres://x@127.0.0.1/x")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_production_without_personal_id_hmac_key_refuses_to_start():
    # given production settings with every other secret
    # when PERSONAL_ID_HMAC_KEY is missing
    result = _manage(["check"], DATABASE_URL="postgres://x@127.0.0.1/x", SECRET_KEY=secrets.token_urlsafe(50))
    # then the settings refuse to load rather than fall back to SECRET_KEY, whose rotation would orphan the digests
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "PERSONAL_ID_HMAC_KEY" in result.stderr


@pytest.mark.parametrize(
    "mode",
    [{}, {"DATABASE_URL": "postgres://x@127.0.0.1/x", "SECRET_KEY": "debug-only-key", "DEBUG": "1"}],
    ids=["embedded", "debug"],
)
def test_locally_personal_id_hmac_key_falls_back_to_secret_key(mode, tmp_path):
    # given embedded mode, or DEBUG against a database server, without PERSONAL_ID_HMAC_KEY
    # when the settings load
    result = _manage(
        [
            "shell",
            "--no-imports",
            "-c",
            "from django.conf import settings; print(settings.PERSONAL_ID_HMAC_KEY == settings.SECRET_KEY)",
        ],
        DATA_DIR=str(tmp_path),
        **mode,
    )
    # then they do, keyed with SECRET_KEY
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
