"""Whole claim lifecycles over HTTP (1 and 16 clients), next to the baseline endpoint measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything .venv/bin/python -m bench.claims   (make bench-claims)

Everything runs in its own database (``bench_claims``, dropped, created and migrated at start; ``BENCH_DB`` renames
it); no test or development database is touched. Setup, in process: an
agency in Baoding with two reviewers and finance, a published program with Baoding's rules (50 % on the local
platform, the 50/50 city and district split, three review stages) but **no public notice** (``notice_working_days:
0``: a notice lasts days, so a benchmark cannot wait for it), a listed provider, and entities in a city-managed
district, each with an applicant, a bearer token and a 100,000 yuan voucher.

One lifecycle is ten requests, each with its own ``Idempotency-Key``: ``POST /api/v1/claims/`` (a 20,000 yuan
purchase), four evidence uploads (multipart PDF), ``submit`` (202), three ``decide`` (初审 with the condition
confirmed, 复审, 财政) and ``payout`` (202). The app runs under gunicorn on 127.0.0.1 (``--workers 4 --threads 4``,
production settings, pooled connections) with ``CELERY_TASK_ALWAYS_EAGER=1``: the evaluation and the payout run
right after their request commits, inside it, so a 202 means "evaluated" or "paid". Claims/s counts lifecycles whose
claim is ``paid`` in the database afterwards; p50/p99 are of whole lifecycles and of single requests. Before each
client count, as many requests as its lifecycles make go to the baseline endpoint (``POST /api/v1/bench/baseline/``,
``voucher_service.api.baseline``: the same middleware and token authentication, one row inserted) in the same
server, as in ``bench.issuance``; the table gives claims/s against it (a lifecycle is ten requests, so 0.1 would be
"as cheap as the baseline"). Then ``verify_ledger`` must be clean.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.http_load import HttpResult, run_http
from bench.plumbing import (
    bench_db,
    database_url,
    load_average,
    machine_facts,
    percentile,
    recreate_database,
    setup_django,
)
from bench.server import gunicorn
from bench.summary import Figure, add_run_options, finish, parse

BENCH_DB = os.environ.get("BENCH_DB") or bench_db("bench_claims")
PDF = b"%PDF-1.7\n% bench evidence\n%%EOF\n"
PURCHASE_YUAN = "20000.00"
VOUCHER_FEN = 100_000_00
LIFECYCLES_PER_VOUCHER = 10  # 10,000 yuan each of a 100,000 yuan voucher
KINDS = ("contract", "invoice", "payment_proof", "usage_statement")
REQUESTS_PER_LIFECYCLE = 10  # create, four evidence uploads, submit, three decisions, payout


@dataclass
class Spec:
    entity: int
    token: str
    number: int


@dataclass
class World:
    program: int
    provider: int
    provider_uscc: str
    reviewer: str
    reviewer2: str
    finance: str
    specs: list[Spec] = field(default_factory=list)


def create_world(entity_count: int) -> World:
    from django.utils import timezone

    from accounts.audit import SYSTEM
    from accounts.models import Jurisdiction, Membership, Organization, OrganizationKind, Role, User
    from accounts.tokens import token_issue
    from accounts.validators import uscc_numbered
    from voucher_service.programs.providers import provider_register
    from voucher_service.programs.services import program_create, program_publish
    from voucher_service.vouchers.models import Issuance, IssuanceKind
    from voucher_service.vouchers.services import issuance_execute

    def code(seed: int) -> str:
        return uscc_numbered(seed, division="130602")

    def user(name: str, organization: Any, role: str) -> Any:
        account = User.objects.create_user(username=name, password=None)
        Membership.objects.create(user=account, organization=organization, role=role)
        return account

    def token(account: Any) -> str:
        return token_issue(actor=account, user=account, name="bench")[1]

    agency = Organization.objects.create(
        name="保定市发展和改革委员会（基准）", kind=OrganizationKind.AGENCY, jurisdiction_id="130600"
    )
    admin = user("bench_admin", agency, Role.PROGRAM_ADMIN)
    today = timezone.localdate()
    program = program_create(
        actor=admin,
        code="bench-claims",
        name="基准算力券（兑付）",
        jurisdiction=agency.jurisdiction,
        issuing_agency=agency,
        rules={
            "annual_cap": "1000000000.00",
            "eligible_categories": ["enterprise"],
            "rate_rules": [{"code": "local_platform", "description": "本地平台 50%", "rate": "0.50"}],
            "per_entity_annual_cap": "1000000.00",
            "funding_split": {
                "city_district": [{"payer": "city", "share": "0.5"}, {"payer": "district", "share": "0.5"}],
                "other": [{"payer": "city", "share": "1"}],
            },
            "notice_working_days": 0,
        },
        valid_from=today - timedelta(days=30),
        valid_until=today + timedelta(days=400),
    )
    program = program_publish(actor=admin, program=program)
    provider = Organization.objects.create(
        name="保定城市算力中心（基准）", kind=OrganizationKind.PROVIDER, uscc=code(1), jurisdiction_id="130602"
    )
    provider_register(actor=SYSTEM, organization=provider, service_types=["gpu"], valid_from=today - timedelta(days=30))
    world = World(
        program=program.pk,
        provider=provider.pk,
        provider_uscc=provider.uscc or "",
        reviewer=token(user("bench_reviewer", agency, Role.REVIEWER)),
        reviewer2=token(user("bench_reviewer2", agency, Role.REVIEWER)),
        finance=token(user("bench_finance", agency, Role.FINANCE)),
    )
    jurisdiction = Jurisdiction.objects.get(code="130602")
    for seed in range(2, entity_count + 2):
        entity = Organization.objects.create(
            name=f"基准科技有限公司 {seed}", kind=OrganizationKind.ENTITY, category="enterprise", uscc=code(seed),
            jurisdiction=jurisdiction,
        )  # fmt: skip
        issuance = Issuance.objects.create(
            kind=IssuanceKind.APPLICATION, program=program, entity=entity, amount=VOUCHER_FEN, fiscal_year=today.year
        )
        issuance_execute(issuance_id=issuance.pk)
        applicant = token(user(f"bench_applicant_{seed}", entity, Role.APPLICANT))
        for n in range(LIFECYCLES_PER_VOUCHER):
            world.specs.append(Spec(entity.pk, applicant, seed * 100 + n))
    return world


def claim_body(world: World, spec: Spec) -> dict[str, Any]:
    from datetime import date

    today = date.today().isoformat()  # noqa: DTZ011 (the server's local date: both run on this machine)
    return {
        "program": world.program,
        "entity": spec.entity,
        "provider": world.provider,
        "contract": {"number": f"BENCH-{spec.number}", "signed_on": today, "amount": PURCHASE_YUAN,
                     "starts_on": today, "ends_on": today},
        "invoices": [{"issuer_uscc": world.provider_uscc, "number": f"26{spec.number:018d}", "issued_on": today,
                      "amount": PURCHASE_YUAN}],
        "payments": [{"bank_reference": f"BR{spec.number}", "paid_on": today, "amount": PURCHASE_YUAN}],
        "delivery": {"starts_on": today, "ends_on": today, "service_type": "gpu", "quantity": "80",
                     "unit": "card_hours"},
        "conditions": ["local_platform"],
        "declaration_accepted": True,
    }  # fmt: skip


def multipart(kind: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n{kind}\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{kind}.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n".encode()
        + PDF
        + b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ]
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Client:
    """One keep-alive connection; every request carries its own Idempotency-Key."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()

    def post(self, path: str, token: str, body: Any = None, *, form: tuple[bytes, str] | None = None) -> Any:
        payload, content_type = form if form else (json.dumps(body or {}).encode(), "application/json")
        headers = {"Host": "127.0.0.1", "Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4()),
                   "Content-Type": content_type}  # fmt: skip
        started = time.perf_counter()
        try:
            self.connection.request("POST", path, body=payload, headers=headers)
            response = self.connection.getresponse()
            data, status = response.read(), response.status
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            data, status = b"{}", 0
        self.latencies.append((time.perf_counter() - started) * 1000)
        self.statuses[status] += 1
        return json.loads(data or b"{}") if status else {}


def lifecycle(client: Client, world: World, spec: Spec) -> int | None:
    created = client.post("/api/v1/claims/", spec.token, claim_body(world, spec))
    claim = created.get("id")
    if claim is None:
        return None
    for kind in KINDS:
        client.post(f"/api/v1/claims/{claim}/evidence/", spec.token, form=multipart(kind))
    client.post(f"/api/v1/claims/{claim}/submit/", spec.token)
    confirm = {"code": "local_platform", "confirmed": True, "reason": "已核实"}
    client.post(f"/api/v1/claims/{claim}/decide/", world.reviewer, {"decision": "approve", "conditions": [confirm]})
    client.post(f"/api/v1/claims/{claim}/decide/", world.reviewer2, {"decision": "approve"})
    client.post(f"/api/v1/claims/{claim}/decide/", world.finance, {"decision": "approve"})
    client.post(f"/api/v1/claims/{claim}/payout/", world.finance, {"paid_on": claim_body(world, spec)["delivery"][
        "ends_on"], "bank_reference": f"CZ{spec.number}"})  # fmt: skip
    return int(claim)


@dataclass
class Run:
    clients: int
    seconds: float
    lifecycle_ms: list[float]
    request_ms: list[float]
    statuses: Counter[int]
    claims: list[int]
    paid: int = 0


def run_clients(port: int, world: World, specs: list[Spec], clients: int) -> Run:
    work: queue.Queue[Spec] = queue.Queue()
    for spec in specs:
        work.put(spec)
    barrier = threading.Barrier(clients + 1)
    out: list[tuple[Client, list[float], list[int]]] = []

    def worker() -> None:
        client, durations, claims = Client(port), list[float](), list[int]()
        out.append((client, durations, claims))
        barrier.wait()
        while True:
            try:
                spec = work.get_nowait()
            except queue.Empty:
                return
            started = time.perf_counter()
            claim = lifecycle(client, world, spec)
            durations.append((time.perf_counter() - started) * 1000)
            if claim is not None:
                claims.append(claim)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=3600)
    seconds = time.perf_counter() - started
    statuses: Counter[int] = Counter()
    for client, _durations, _claims in out:
        statuses.update(client.statuses)
    return Run(
        clients=clients,
        seconds=seconds,
        lifecycle_ms=[d for _c, durations, _k in out for d in durations],
        request_ms=[latency for client, _d, _k in out for latency in client.latencies],
        statuses=statuses,
        claims=[claim for _c, _d, claims in out for claim in claims],
    )


def table(runs: list[Run], baselines: dict[int, HttpResult]) -> str:
    rows = [
        "| clients | lifecycles | paid | claims/s | lifecycle p50 ms | lifecycle p99 ms | request p50 ms "
        "| request p99 ms | statuses | baseline req/s | baseline p50 / p99 ms | claims/s ÷ baseline req/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for run in runs:
        reference = baselines[run.clients]
        statuses = ", ".join(f"{code}×{count}" for code, count in sorted(run.statuses.items()))
        rows.append(
            f"| {run.clients} | {len(run.lifecycle_ms)} | {run.paid} | {run.paid / run.seconds:.2f} "
            f"| {statistics.median(run.lifecycle_ms):.0f} | {percentile(run.lifecycle_ms, 0.99):.0f} "
            f"| {statistics.median(run.request_ms):.1f} | {percentile(run.request_ms, 0.99):.1f} | {statuses} "
            f"| {reference.rate:.1f} | {reference.percentile(0.5):.1f} / {reference.percentile(0.99):.1f} "
            f"| {run.paid / run.seconds / reference.rate if reference.rate else float('nan'):.4f} |"
        )
    return "\n".join(rows)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=160, help="lifecycles at 16 clients (a tenth at 1 client)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--baseline-seconds", type=float, default=30, help="cap on each baseline run")
    return add_run_options(parser)


QUICK = ["--claims", "16"]  # 10 lifecycles at 1 client, 16 at 16


def main(argv: list[str] | None = None) -> None:
    args = parse(parser(), QUICK, argv)
    finish(args, measure(args))


def measure(args: argparse.Namespace) -> list[Figure]:
    base_url = os.environ.get("DATABASE_URL") or sys.exit("set DATABASE_URL to a PostgreSQL server")
    data_dir = tempfile.mkdtemp(prefix="bench-claims-")
    print(f"machine: {machine_facts(base_url)}; load {load_average()}")
    started = time.perf_counter()
    recreate_database(base_url, BENCH_DB)
    url = database_url(base_url, BENCH_DB)
    os.environ.pop("CELERY_TASK_ALWAYS_EAGER", None)
    setup_django(
        url, DATA_DIR=data_dir, CELERY_BROKER_URL="memory://localhost/", CELERY_RESULT_BACKEND="cache+memory://"
    )
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    counts = {1: max(args.claims // 10, 10), 16: args.claims}
    world = create_world(entity_count=-(-sum(counts.values()) // LIFECYCLES_PER_VOUCHER))
    print(f"setup: {time.perf_counter() - started:.1f} s ({len(world.specs)} lifecycles prepared)")
    runs, baselines = [], {}
    log_path = Path(data_dir) / "gunicorn.log"
    with gunicorn(url, data_dir, "voucher_service.wsgi:application", args.workers, args.threads, log_path) as (port, _):
        specs = list(world.specs)
        warm = run_http(port, world.reviewer, list(range(32)), 16, args.baseline_seconds, baseline=True)
        if warm.statuses.get(201, 0) != 32:  # connects every worker thread to the database
            raise SystemExit(f"warm-up baseline requests failed: {dict(warm.statuses)}\n{log_path.read_text()[-3000:]}")
        for clients, count in counts.items():
            # The baseline first, as many requests as the lifecycles will make, back to back in the same server.
            requests = list(range(count * REQUESTS_PER_LIFECYCLE))
            baselines[clients] = run_http(port, world.reviewer, requests, clients, args.baseline_seconds, baseline=True)
            print(f"{clients} client(s): baseline {baselines[clients].rate:.1f} requests/s")
            batch, specs = specs[:count], specs[count:]
            run = run_clients(port, world, batch, clients)
            from voucher_service.claims.models import Claim

            run.paid = Claim.objects.filter(pk__in=run.claims, status="paid").count()
            runs.append(run)
            print(f"{clients} client(s): {run.paid}/{len(batch)} paid in {run.seconds:.1f} s")
    from ledger.verification import verify_ledger

    report = verify_ledger()
    print(f"verify_ledger: {'OK' if report.ok else 'FAILED'} over {report.entry_count} entries")
    print(table(runs, baselines))
    if not report.ok:
        raise SystemExit(report.render())
    return figures(runs, baselines)


def figures(runs: list[Run], baselines: dict[int, HttpResult]) -> list[Figure]:
    """Claims/s against the baseline's requests/s at the same client count (issue 16 sets no goal here); the
    lifecycle's p50 and p99 against the baseline request's."""
    out = []
    for run in runs:
        base, clients = baselines[run.clients], f"{run.clients} client{'s' if run.clients > 1 else ''}"
        out.append(Figure("claims", f"lifecycles/s, {clients}", run.paid / run.seconds, "/s",
                          "baseline endpoint req/s", base.rate))  # fmt: skip
        for name, fraction in (("p50", 0.5), ("p99", 0.99)):
            out.append(Figure("claims", f"lifecycle {name}, {clients}", percentile(run.lifecycle_ms, fraction),
                              "ms", f"baseline request {name} (ms)", base.percentile(fraction)))  # fmt: skip
    return out


if __name__ == "__main__":
    main()
