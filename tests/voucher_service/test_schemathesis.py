"""Schemathesis against the live application: every operation of /api/schema/, as an agency program
administrator and as an applicant, with generated requests that the schema allows. The schema must describe
every status and body the API really returns, and no request may end in a 500.

The server is pytest-django's live server (a real HTTP server on the suite's database: PostgreSQL in CI) with
the demo data `make run` loads. The run is deterministic (Hypothesis derandomised: a fixed seed) and bounded:
``MAX_EXAMPLES`` cases per operation and persona, about a minute and a half on two cores. Token-revoking operations
get throwaway tokens; a persona whose token some generated request revoked gets a new one.

Each persona's run prints a summary line (operations, cases, seconds) to the terminal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import ApiToken, User
from accounts.tokens import token_issue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = 6
PERSONAS = {"program_admin": "demo_program_admin", "applicant": "demo_applicant"}
# On PostgreSQL the settings are production's, which redirect plain HTTP to HTTPS; the live server speaks plain
# HTTP, so requests say they came through the TLS-terminating proxy (SECURE_PROXY_SSL_HEADER), as in production.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


@dataclass
class Tokens:
    """A persona's bearer token, re-issued whenever a generated request revoked it."""

    user: User
    token: ApiToken | None = None
    raw: str = ""

    def current(self) -> str:
        if self.token is not None:
            self.token.refresh_from_db()
        if self.token is None or not self.token.is_usable():
            self.token, self.raw = token_issue(actor=self.user, user=self.user, name="schemathesis")
        return self.raw

    def throwaway(self) -> str:
        return token_issue(actor=self.user, user=self.user, name="schemathesis throwaway")[1]


@dataclass
class Run:
    operations: int = 0
    cases: int = 0
    failures: dict[str, list[str]] = field(default_factory=dict)


@pytest.fixture
def demo_world(settings):
    """What `make run` loads: the seed policies, this year's budgets and the demo organisations and users."""
    settings.LOCAL = True
    hosts = settings.ALLOWED_HOSTS
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    call_command("load_policies", verbosity=0)
    call_command("open_fiscal_year", str(time.localtime().tm_year), stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.ALLOWED_HOSTS = hosts


def _revokes_tokens(operation: Any) -> bool:
    return operation.method.upper() == "DELETE" and operation.path.startswith("/api/v1/auth/")


def _run_operation(operation: Any, base_url: str, tokens: Tokens, run: Run, session: requests.Session) -> None:
    label = f"{operation.method.upper()} {operation.path}"

    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def cases(case: schemathesis.Case) -> None:
        token = tokens.throwaway() if _revokes_tokens(operation) else tokens.current()
        headers = {"Authorization": f"Bearer {token}", **PROXY_HEADERS}
        run.cases += 1
        response = case.call(base_url=base_url, session=session, headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as failure:  # collected, and reported together below
            found = run.failures.setdefault(label, [])
            if len(found) < 3:
                found.append(f"{failure}\n    curl: {case.as_curl_command(headers=headers)}"[:3000])

    cases()


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_every_operation_conforms_to_the_schema(live_server, behind_tls_proxy, demo_world, persona, capsys):
    # given the live application, a token of the persona, and the schema as that persona reads it
    base_url = live_server.url
    tokens = Tokens(User.objects.get(username=PERSONAS[persona]))
    headers = {"Authorization": f"Bearer {tokens.current()}", **PROXY_HEADERS}
    document = requests.get(f"{base_url}/api/schema/?format=json", headers=headers, timeout=60)
    assert document.status_code == 200, document.text[:300]
    schema = schemathesis.openapi.from_dict(document.json())
    run, started = Run(), time.monotonic()
    # when every operation is called with generated requests
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            run.operations += 1
            _run_operation(operation, base_url, tokens, run, session)
    took = time.monotonic() - started
    with capsys.disabled():
        print(f"\nschemathesis as {persona}: {run.operations} operations, {run.cases} cases, {took:.0f} s")
    # then every answer was one the schema describes, and none was a server error
    assert run.operations >= 40
    assert not run.failures, "\n\n".join(f"{label}:\n  " + "\n  ".join(found) for label, found in run.failures.items())
