"""Loading the policy fixture (``fixtures/policies.yaml``): the seed programs as data.

One durable transaction for the file (a ``service_write``), with a savepoint per program: organisations load
first (a bad one stops everything), then each program loads or fails on its own. The program services it calls
join that transaction. A program the services or the ledger refuse (``ValidationError``, a ``ServiceError``) is
rolled back and reported in ``LoadReport.failed``; the others still load, and ``load_policies`` exits non-zero.

Idempotent: organisations are matched by (kind, name, jurisdiction) and programs by ``code``; a second run with
the same file writes nothing, and a changed ``rules`` block adds exactly one version (``services.program_update``).
A changed ``rules`` block is *not* applied when the program's newest version was made by an agency through the
API: the loader warns and leaves the agency's rules in force rather than silently reverting them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.audit import audit_record, snapshot
from accounts.models import Jurisdiction, Organization
from core.errors import ServiceError
from core.transactions import service_write
from ledger.errors import LedgerError
from voucher_service.programs import services
from voucher_service.programs.models import Program, ProgramExtension, ProgramStatus, VersionSource

DEFAULT_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "policies.yaml"
PROGRAM_TEXT = {
    "name": "name",
    "document_number": "legal_document_number",
    "clause": "legal_clause",
    "title": "legal_title",
    "issuer": "legal_issuer",
}


@dataclass
class LoadReport:
    organizations_created: list[str] = field(default_factory=list)
    programs_created: list[str] = field(default_factory=list)
    programs_changed: list[str] = field(default_factory=list)
    versions_added: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    extensions_added: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # program code -> why it was not loaded

    @property
    def changed_anything(self) -> bool:
        return any(bool(value) for name, value in vars(self).items() if name not in NOT_CHANGES)

    def merge(self, other: LoadReport) -> None:
        for name, value in vars(other).items():
            if isinstance(value, list):
                getattr(self, name).extend(value)
        self.failed.update(other.failed)


NOT_CHANGES = frozenset({"warnings", "failed"})


def read_fixture(path: Path = DEFAULT_FIXTURE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    if not isinstance(document, dict):
        raise ValidationError({"non_field_errors": "The policy fixture must be a mapping."})
    return document


@service_write
def policies_load(*, actor: Any, document: Mapping[str, Any]) -> LoadReport:
    report = LoadReport()
    organizations = {
        item["key"]: _ensure_organization(actor, item, report) for item in document.get("organizations", [])
    }
    for item in document.get("programs", []):
        code = str(item.get("code"))
        program_report = LoadReport()
        try:
            with transaction.atomic():  # a savepoint: a refused program leaves no trace
                _load_program(actor, item, organizations, program_report)
        except ValidationError as exc:
            report.failed[code] = _describe(exc)
        except LedgerError as exc:
            report.failed[code] = f"the ledger refused it ({exc.code}): {exc}"
        except ServiceError as exc:
            report.failed[code] = f"{exc.code}: {exc}"
        else:
            report.merge(program_report)
            continue
        report.warnings.extend(program_report.warnings)
    return report


def _describe(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{key}: {' '.join(messages)}" for key, messages in exc.message_dict.items())
    return " ".join(exc.messages)


def _ensure_organization(actor: Any, item: Mapping[str, Any], report: LoadReport) -> Organization:
    jurisdiction = Jurisdiction.objects.get(code=str(item["jurisdiction"]))
    existing = Organization.objects.filter(kind=item["kind"], name=item["name"], jurisdiction=jurisdiction).first()
    if existing is not None:
        return existing
    organization = Organization(kind=item["kind"], name=item["name"], jurisdiction=jurisdiction, uscc=item.get("uscc"))
    organization.full_clean()
    organization.save()
    audit_record(
        actor=actor,
        action="organization.create",
        target=organization,
        organization=organization,
        after=snapshot(organization, ["name", "kind", "uscc", "jurisdiction"]),
        detail={"source": "load_policies"},
    )
    report.organizations_created.append(organization.name)
    return organization


def _rules_with_ids(rules: Mapping[str, Any], organizations: Mapping[str, Organization]) -> dict[str, Any]:
    """The fixture names platforms by organisation key; the stored rules hold organisation ids."""
    out = copy.deepcopy(dict(rules))
    scope = out.get("provider_scope")
    if isinstance(scope, dict) and scope.get("platforms"):
        scope["platforms"] = [organizations[key].pk for key in scope["platforms"]]
    return out


def _load_program(
    actor: Any, item: Mapping[str, Any], organizations: Mapping[str, Organization], report: LoadReport
) -> None:
    code = item["code"]
    legal = item.get("legal_basis") or {}
    texts = {PROGRAM_TEXT["name"]: item["name"]} | {PROGRAM_TEXT[k]: legal.get(k) or "" for k in legal}
    responsible = [organizations[key] for key in item.get("responsible_agencies", [])]
    rules = _rules_with_ids(item["rules"], organizations)
    program = Program.objects.filter(code=code).first()
    if program is None:
        program = services.program_create(
            actor=actor,
            code=code,
            jurisdiction=Jurisdiction.objects.get(code=str(item["jurisdiction"])),
            issuing_agency=organizations[item["issuing_agency"]],
            responsible_agencies=responsible,
            valid_from=item.get("valid_from"),
            valid_until=item.get("valid_until"),
            rules=rules,
            note="load_policies",
            source=VersionSource.FIXTURE,
            **texts,
        )
        report.programs_created.append(code)
    else:
        _update_program(actor, program, item, texts, responsible, rules, report)
    _apply_extensions(actor, program, item.get("extensions") or [], report)
    if item.get("status") == ProgramStatus.PUBLISHED and program.status == ProgramStatus.DRAFT:
        # The fixture records a policy published in the past; its window may have ended since.
        services.program_publish(actor=actor, program=program, historical=True)
        report.published.append(code)


def _update_program(
    actor: Any,
    program: Program,
    item: Mapping[str, Any],
    texts: dict[str, str],
    responsible: list[Organization],
    rules: dict[str, Any],
    report: LoadReport,
) -> None:
    changes: dict[str, Any] = {name: value for name, value in texts.items() if getattr(program, name) != value}
    if sorted(o.pk for o in responsible) != sorted(program.responsible_agencies.values_list("pk", flat=True)):
        changes["responsible_agencies"] = responsible
    window = {
        name: item.get(name) for name in ("valid_from", "valid_until") if getattr(program, name) != item.get(name)
    }
    if program.status == ProgramStatus.DRAFT:
        changes |= window
    elif window and not item.get("extensions"):
        # Once published, a window moves only by a recorded extension (from the API or this file's `extensions`).
        report.warnings.append(f"{program.code}: dates differ from the fixture; record an extension to move them")
    if _fixture_rules_changed(program, rules):
        newest = program.versions.order_by("-number").first()
        if newest is not None and newest.source != VersionSource.FIXTURE:
            # An agency changed the rules through the API since the last load: never revert that silently.
            report.warnings.append(
                f"{program.code}: the fixture's rules changed, but version {newest.number} was made through the API "
                "after the last load; the fixture's rules were not applied (change them through the API instead)"
            )
        else:
            changes |= {"rules": rules, "note": "load_policies"}
            report.versions_added.append(program.code)
    if changes:
        services.program_update(actor=actor, program=program, source=VersionSource.FIXTURE, **changes)
        report.programs_changed.append(program.code)


def _fixture_rules_changed(program: Program, rules: dict[str, Any]) -> bool:
    """Compare with the last version this loader wrote, so a reload keeps an agency's own later versions."""
    versions = program.versions.order_by("-number")
    last_loaded = versions.filter(source=VersionSource.FIXTURE).first() or versions.first()
    if last_loaded is None:
        return True
    fixture_rules = services.parse_rules_field(rules)
    newest = versions.first()
    if newest is not None and fixture_rules == newest.parsed():
        return False  # already in force, whoever made it
    return fixture_rules != last_loaded.parsed()  # parsed: a rendering change of stored documents is no change


def _apply_extensions(actor: Any, program: Program, extensions: list[Mapping[str, Any]], report: LoadReport) -> None:
    for extension in extensions:
        new_end: date | None = extension.get("new_end")
        reference = extension.get("legal_reference") or ""
        if ProgramExtension.objects.filter(program=program, new_end=new_end, legal_reference=reference).exists():
            continue
        services.program_extend(
            actor=actor,
            program=program,
            new_end=new_end,
            reason=extension["reason"],
            legal_reference=reference,
            decided_on=extension.get("decided_on"),
            open_this_year=False,
        )
        report.extensions_added.append(f"{program.code} -> {new_end or 'open-ended'}")
