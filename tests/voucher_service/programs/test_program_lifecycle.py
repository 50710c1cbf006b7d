"""Services and selectors: may a program issue, expiry, versions in force, immutability of published versions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.audit import SYSTEM
from accounts.models import AuditEvent
from voucher_service.programs import models, services
from voucher_service.programs.errors import ProgramError, ProgramErrorCode
from voucher_service.programs.models import ImmutableRecordError, ProgramStatus, ProgramVersion
from voucher_service.programs.rules_parser import rules_from_document as real
from voucher_service.programs.selectors import (
    program_can_issue,
    program_current_version,
    program_issuance_refusal,
    program_version_in_force,
)
from voucher_service.programs.tasks import expire_programs

pytestmark = pytest.mark.django_db


def refusal_code(program, on: date) -> str:
    refusal = program_issuance_refusal(program, on)
    assert isinstance(refusal, ProgramError)
    return refusal.code


def test_a_draft_cannot_issue(seeds):
    # given Yinchuan's draft
    # when asked whether it can issue on any day
    # then it refuses with a typed error
    assert not program_can_issue(seeds.yinchuan, date(2025, 6, 1))
    assert refusal_code(seeds.yinchuan, date(2025, 6, 1)) == ProgramErrorCode.PROGRAM_DRAFT


def test_a_published_program_issues_only_inside_its_window(seeds):
    # given Ningxia, valid 2023-09-15 to 2025-12-31
    program = seeds.ningxia
    # then it can issue inside the window (returning the version in force), and not before or after it
    assert program_issuance_refusal(program, date(2025, 6, 1)) is None
    assert program_version_in_force(program, date(2025, 6, 1)) == program_current_version(program)
    assert refusal_code(program, date(2023, 9, 14)) == ProgramErrorCode.PROGRAM_NOT_IN_FORCE
    assert refusal_code(program, date(2026, 1, 1)) == ProgramErrorCode.PROGRAM_EXPIRED
    # and Hohhot, with no end date, can issue years later
    assert program_can_issue(seeds.hohhot, date(2040, 1, 1))


def test_a_suspended_program_cannot_issue(seeds, foreign_admin):
    # given Baoding, suspended by its administrator
    program = services.program_suspend(actor=foreign_admin, program=seeds.baoding, reason="audit")
    # then it refuses inside its window
    assert refusal_code(program, date(2025, 6, 1)) == ProgramErrorCode.PROGRAM_SUSPENDED


def test_expiry_marks_programs_past_their_end_once(seeds):
    # given the seeds on 2026-01-01: Ningxia ended 2025-12-31
    # when the expiry runs twice
    first = services.programs_expire_due(today=date(2026, 1, 1))
    second = services.programs_expire_due(today=date(2026, 1, 1))
    # then only Ningxia is expired, once, with one audit event
    seeds.ningxia.refresh_from_db()
    assert first == [seeds.ningxia.pk]
    assert second == []
    assert seeds.ningxia.status == ProgramStatus.EXPIRED
    assert AuditEvent.objects.filter(action="program.expire").count() == 1


def test_the_expiry_task_uses_today(seeds):
    # given today is after Ningxia's end (the service runs in 2026 or later)
    assert timezone.localdate() > date(2025, 12, 31)
    # when the beat task runs
    expired = expire_programs.delay().get()
    # then Ningxia is expired and Baoding (to 2027-01-24) only if its end has passed too
    assert seeds.ningxia.pk in expired
    assert (seeds.baoding.pk in expired) == (timezone.localdate() > date(2027, 1, 24))


def test_an_extension_revives_an_expired_program(seeds, program_admin):
    # given Ningxia expired
    services.programs_expire_due(today=date(2026, 1, 1))
    # when its administrator extends it by a year
    services.program_extend(
        actor=program_admin,
        program=seeds.ningxia,
        new_end=timezone.localdate() + timedelta(days=365),
        reason="政策到期后延续",
        legal_reference="宁夏回族自治区人民政府公报 2023年第17号",
    )
    # then it is published again and can issue today
    seeds.ningxia.refresh_from_db()
    assert seeds.ningxia.status == ProgramStatus.PUBLISHED
    assert program_can_issue(seeds.ningxia, timezone.localdate())


def test_published_versions_are_immutable(seeds):
    # given Baoding's published version 1
    version = program_current_version(seeds.baoding)
    # when anything tries to change or delete it
    version.rules = {**version.rules, "annual_cap": 1}
    # then the model refuses
    with pytest.raises(ImmutableRecordError):
        version.save()
    with pytest.raises(ImmutableRecordError):
        ProgramVersion.objects.filter(pk=version.pk).update(rules={})
    with pytest.raises(ImmutableRecordError):
        version.delete()


def test_the_version_in_force_follows_publication(seeds, foreign_admin):
    # given Baoding v1, then a rules change published later as v2
    v1 = program_current_version(seeds.baoding)
    services.program_update(actor=foreign_admin, program=seeds.baoding, rules={"annual_cap": "11000000.00"})
    v2 = program_current_version(seeds.baoding)
    # then v2 governs from its publication on, and v1 governed before it (including before v1's own publication)
    assert v2.number == 2
    assert v2.parsed().annual_cap == 1_100_000_000
    assert program_version_in_force(seeds.baoding, v2.published_at) == v2
    assert program_version_in_force(seeds.baoding, v2.published_at - timedelta(microseconds=1)) == v1
    assert program_version_in_force(seeds.baoding, date(2024, 2, 1)) == v1
    # and an edit that does not change the rules adds no version
    services.program_update(actor=foreign_admin, program=seeds.baoding, rules={"annual_cap": "11000000.00"})
    assert seeds.baoding.versions.count() == 2


def test_a_published_versions_rules_are_parsed_once_per_process(seeds, monkeypatch):
    # given Baoding's published version, read twice from the database (two instances, as two requests read it)
    first, second = program_current_version(seeds.baoding), program_current_version(seeds.baoding)
    parses = []
    monkeypatch.setattr(models, "rules_from_document", lambda document: parses.append(document) or real(document))
    # when both instances' rules are read
    rules_first, rules_second = first.parsed(), second.parsed()
    # then the document was parsed at most once (not at all if an earlier test of this process parsed it), and
    # both are the one immutable value
    assert len(parses) <= 1
    assert rules_first is rules_second
    assert rules_first == real(first.rules)


def test_a_draft_versions_rules_are_parsed_afresh_each_time(seeds, monkeypatch):
    # given a draft version (it may still be edited, so nothing is kept for it)
    draft = ProgramVersion(program=seeds.baoding, number=99, rules=program_current_version(seeds.baoding).rules)
    parses = []
    monkeypatch.setattr(models, "rules_from_document", lambda document: parses.append(document) or real(document))
    # when its rules are read, edited and read again
    before = draft.parsed()
    draft.rules = {**draft.rules, "annual_cap": draft.rules["annual_cap"] + 100}
    after = draft.parsed()
    # then each read parsed what the instance held then
    assert len(parses) == 2
    assert after.annual_cap == before.annual_cap + 100


def test_no_actor_is_not_the_system(seeds):
    # a forgotten actor (None) is refused; only accounts.audit.SYSTEM stands for the system itself
    with pytest.raises(ProgramError) as caught:
        services.program_suspend(actor=None, program=seeds.baoding, reason="x")
    assert caught.value.code == ProgramErrorCode.PERMISSION_DENIED
    suspended = services.program_suspend(actor=SYSTEM, program=seeds.baoding, reason="x")
    assert suspended.status == ProgramStatus.SUSPENDED
    assert AuditEvent.objects.get(action="program.suspend").detail["system"] is True


def test_an_extension_keeps_a_suspended_program_suspended_after_it_expired(seeds, program_admin):
    # given Ningxia suspended while it was in force (set directly: its window ended on 2025-12-31, so today a
    # suspension is refused as it is expired), then marked expired at its end
    type(seeds.ningxia).objects.filter(pk=seeds.ningxia.pk).update(status=ProgramStatus.SUSPENDED)
    services.programs_expire_due(today=date(2026, 1, 1))
    seeds.ningxia.refresh_from_db()
    assert seeds.ningxia.status == ProgramStatus.EXPIRED
    # when its administrator extends it by a year
    services.program_extend(
        actor=program_admin,
        program=seeds.ningxia,
        new_end=timezone.localdate() + timedelta(days=365),
        reason="政策到期后延续",
    )
    # then it is suspended again, not published: the suspension still stands and it cannot issue
    seeds.ningxia.refresh_from_db()
    assert seeds.ningxia.status == ProgramStatus.SUSPENDED
    assert not program_can_issue(seeds.ningxia, timezone.localdate())
    # and resuming it is still an explicit act of its administrator
    assert services.program_publish(actor=program_admin, program=seeds.ningxia).status == ProgramStatus.PUBLISHED
