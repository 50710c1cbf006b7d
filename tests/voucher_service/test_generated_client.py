"""A Python client generated from /api/schema/ (openapi-python-client, pinned in the dev dependencies) imports,
and drives the README's first session against the live application: the applicant logs in, finds its
organisation and Baoding's program and applies; the reviewer logs in and approves; the applicant reads the
voucher; anyone checks its token.

A client generated from the old schema did not import (``NameError: Unset`` in every operation module): its
request bodies advertised JSON, form and multipart at once.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client as DjangoClient
from django.test import override_settings

from tests.embedded import PY

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

PACKAGE = "voucher_client"
# The live server speaks plain HTTP; on PostgreSQL the settings are production's (HTTPS only), so requests say
# they came through the TLS-terminating proxy, as they do in production.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
PASSWORD = "demo-pass-2026"


@pytest.fixture
def demo_world(settings):
    settings.LOCAL = True
    hosts = settings.ALLOWED_HOSTS
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    call_command("load_policies", verbosity=0)
    call_command("open_fiscal_year", str(time.localtime().tm_year), stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.ALLOWED_HOSTS = hosts


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Generate the client from /api/schema/ (once for the module) and import it.

    The schema is read through Django's test client: the live server only admits its host inside a test.
    """
    tmp_path = tmp_path_factory.mktemp("generated-client")
    schema = tmp_path / "schema.json"
    with override_settings(API_SCHEMA_PUBLIC=True):  # module scope: no user to log in yet; tests read the document
        answer = DjangoClient().get("/api/schema/?format=json", secure=True)
    assert answer.status_code == 200, answer.content[:500]
    schema.write_bytes(answer.content)
    config = tmp_path / "config.yaml"
    config.write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    command = [str(Path(PY).parent / "openapi-python-client"), "generate", "--path", str(schema)]
    command += ["--output-path", str(tmp_path / PACKAGE), "--meta", "none", "--config", str(config)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)  # noqa: S603
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr  # nothing it could not generate
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_every_generated_operation_module_imports(generated):
    api = Path(generated.__file__).parent / "api"
    modules = [path for path in api.glob("*/*.py") if path.name != "__init__.py"]
    assert len(modules) >= 40
    for path in modules:
        importlib.import_module(f"{PACKAGE}.api.{path.parent.name}.{path.stem}")


def _api(name: str):
    tag, operation = name.split(".")
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{operation}")


def test_the_readme_first_session_through_the_generated_client(live_server, behind_tls_proxy, demo_world, generated):
    models = importlib.import_module(f"{PACKAGE}.models")
    anonymous = generated.Client(base_url=live_server.url, headers=PROXY_HEADERS, raise_on_unexpected_status=True)

    def login(username: str):
        answer = _api("auth.auth_login").sync_detailed(
            client=anonymous, body=models.TokenCreateRequest(username=username, password=PASSWORD)
        )
        assert answer.status_code == 201, answer.content
        return generated.AuthenticatedClient(
            base_url=live_server.url, token=answer.parsed.token, headers=PROXY_HEADERS, raise_on_unexpected_status=True
        )

    # 1. The applicant logs in, finds its organisation and Baoding's program, and applies for 200,000 yuan.
    applicant = login("demo_applicant")
    me = _api("me.me_get").sync(client=applicant)
    entity = me.memberships[0].organization.id
    programs = _api("programs.program_list").sync(client=applicant, status=models.ProgramListStatus.PUBLISHED)
    (program,) = [p for p in programs.results if p.code == "baoding-compute-measures-5"]
    application = _api("voucher_applications.voucher_application_create").sync(
        client=applicant,
        body=models.ApplicationCreateRequest(program=program.id, entity=entity, amount="200000.00", purpose="模型训练"),
        idempotency_key="readme-first-try",
    )
    assert isinstance(application, models.Application), application
    # 2. The reviewer logs in and approves: 202, and the issuance it points to succeeds.
    reviewer = login("demo_reviewer")
    accepted = _api("voucher_applications.voucher_application_approve").sync_detailed(
        id=application.id, client=reviewer, body=models.ApproveRequest(), idempotency_key="readme-approve"
    )
    assert accepted.status_code == 202, accepted.content
    issuance = _api("issuances.issuance_get").sync(id=accepted.parsed.issuance.id, client=reviewer)
    assert issuance.status == models.IssuanceStatusEnum.SUCCEEDED
    # 3. The applicant reads the voucher; anyone holding its token checks it, without logging in.
    voucher = _api("vouchers.voucher_get").sync(id=issuance.voucher, client=applicant)
    verified = _api("vouchers.voucher_verify").sync(token=voucher.token, client=anonymous)
    assert (verified.serial, verified.face_value, verified.balance) == (voucher.serial, "200000.00", "200000.00")
    assert verified.status == models.VoucherStatusEnum.ACTIVE
