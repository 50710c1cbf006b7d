"""The automatic eligibility checks (``vouchers.eligibility``): what each decides, and that its message says so.

The program is the vouchers' test program (``tests.factories.make_program``): Ningxia, a 1,000 yuan budget,
300 yuan per entity per year and a 100 yuan settling-in award, once per entity. Money is set up through the
services (issue, revoke, grant), so every figure is one the ledger verifies. ``make mutation`` holds
``eligibility.py`` to this file.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone, translation

from accounts.models import EntityCategory, Organization, OrganizationKind
from tests.factories import make_org, make_program
from voucher_service.programs.models import Program, ProgramStatus
from voucher_service.programs.services import program_create, program_suspend, program_update
from voucher_service.vouchers.eligibility import (
    Check,
    EligibilityReport,
    eligibility_check,
    entity_category_ok,
    entity_remaining_cap,
)
from voucher_service.vouchers.models import Voucher
from voucher_service.vouchers.services import (
    application_approve,
    application_submit,
    award_grant,
    issuance_execute,
    voucher_revoke,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate
YEAR = TODAY().year
TECH_SME = "Tech-based small or micro enterprise (科技型中小微企业)"
SETTLING_IN = {
    "code": "settling_in",
    "description": "落户当年一次性奖励",
    "check": "settled_in_fiscal_year",
    "amount": "100.00",
    "once_per_entity": True,
}
FIRST_PURCHASE = {
    "code": "first_purchase",
    "description": "首购奖励",
    "check": "reviewer",
    "amount": "50.00",
    "once_per_entity": False,
}


def check(program, entity, amount, *, year=YEAR, award_code=""):
    """The report, with its messages in English."""
    with translation.override("en"):
        return eligibility_check(
            program=program, entity=entity, amount=amount, year=year, on=TODAY(), award_code=award_code
        )


def decided(report: EligibilityReport) -> dict[str, tuple[bool, str]]:
    return {c.check: (c.ok, c.message) for c in report.checks}


@pytest.fixture
def issue(applicant, reviewer, django_capture_on_commit_callbacks):
    """Issue a voucher of ``fen`` to the applicant's entity: applied for, approved, issued."""

    def issue_voucher(program, entity, fen):
        application = application_submit(actor=applicant, program=program, entity=entity, amount=fen, purpose="训练")
        with django_capture_on_commit_callbacks(execute=True):
            issuance = application_approve(actor=reviewer, application=application)
        issuance.refresh_from_db()
        assert issuance.status == "succeeded", issuance.failure_message
        return Voucher.objects.get(pk=issuance.voucher_id)

    return issue_voucher


# --- Everything in order --------------------------------------------------------------------------------------


def test_an_eligible_request_passes_every_check_and_each_says_why(program, entity):
    # given an entity of an eligible category in the program's jurisdiction, and an amount within every cap
    # when
    report = check(program, entity, 10_000)
    # then
    assert report.ok
    assert report.failures == []
    assert report.rules == program.versions.get().parsed()
    assert report.checks == [
        Check("program_in_force", True, "The program is published and in force."),
        Check("entity_not_barred", True, "The entity is not barred."),
        Check("entity_category", True, f"Category {TECH_SME} is eligible."),
        Check("entity_jurisdiction", True, "The entity is located in the program's jurisdiction."),
        Check("entity_cap", True, "Within the entity's yearly cap."),
        Check("budget", True, "Within the program's budget."),
    ]
    assert report.as_list()[0] == {
        "check": "program_in_force",
        "ok": True,
        "message": "The program is published and in force.",
    }


def test_the_checks_speak_the_language_in_force(program, entity):
    # given / when: a request over the entity's cap, in Chinese
    with translation.override("zh-hans"):
        report = eligibility_check(program=program, entity=entity, amount=30_001, year=YEAR, on=TODAY())
    # then the failure is explained in Chinese, with the amount left in yuan
    (failure,) = report.failures
    assert failure.check == "entity_cap"
    assert "300.00" in failure.message
    assert "yearly cap" not in failure.message


# --- The program --------------------------------------------------------------------------------------------


def test_a_program_that_cannot_issue_is_the_only_check_and_says_why(program, program_admin, entity):
    # given a suspended program
    suspended = program_suspend(actor=program_admin, program=program, reason="审计")
    # when
    report = check(suspended, entity, 100)
    # then nothing else is checked, and there are no rules to check against
    assert not report.ok
    assert report.rules is None
    assert report.checks == [Check("program_in_force", False, "The program is suspended.")]
    assert report.failures == report.checks


def test_a_program_marked_published_without_published_rules_is_refused_not_a_crash(
    program_admin, ningxia_agency, entity
):
    # given a draft whose status was set to published behind the services' back (a bad import, a hand edit)
    draft = program_create(
        actor=program_admin,
        code="nx-broken",
        name="测试",
        jurisdiction=ningxia_agency.jurisdiction,
        issuing_agency=ningxia_agency,
        rules={"annual_cap": "1000.00", "eligible_categories": ["tech_sme"]},
        valid_from=date(YEAR, 1, 1),
        valid_until=date(YEAR, 12, 31),
    )
    Program.objects.filter(pk=draft.pk).update(status=ProgramStatus.PUBLISHED)
    draft.refresh_from_db()
    # when
    report = check(draft, entity, 100)
    # then
    assert report.checks == [Check("program_in_force", False, "The program has no published rules.")]
    assert report.rules is None


# --- The entity ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [OrganizationKind.AGENCY, OrganizationKind.PROVIDER, OrganizationKind.PLATFORM])
def test_an_organisation_that_is_not_an_entity_is_not_eligible(program, kind):
    # given an agency, a provider or a platform in the program's jurisdiction (none has a category)
    organisation = make_org(kind, jurisdiction="640104")
    # when
    report = check(program, organisation, 100)
    # then, the category shown as a dash
    assert decided(report)["entity_category"] == (False, "This program is not open to —.")
    assert not report.ok


@pytest.mark.parametrize("kind", [OrganizationKind.AGENCY, OrganizationKind.PROVIDER, OrganizationKind.PLATFORM])
def test_only_an_entity_is_eligible_even_where_the_database_would_not_hold_the_line(program, kind):
    # given an organisation in memory that is not an entity but carries an eligible category (the database's CHECK
    # refuses to store one; the rule does not lean on it)
    rules = program.versions.get().parsed()
    organisation = Organization(kind=kind, category=EntityCategory.TECH_SME, is_active=True)
    entity = Organization(kind=OrganizationKind.ENTITY, category=EntityCategory.TECH_SME, is_active=True)
    # when / then
    assert entity_category_ok(rules, organisation) is False
    assert entity_category_ok(rules, entity) is True


def test_an_inactive_entity_is_not_eligible(program, entity):
    # given an entity that has been deactivated
    entity.is_active = False
    entity.save(update_fields=["is_active"])
    # when / then
    assert decided(check(program, entity, 100))["entity_category"][0] is False


def test_an_entity_of_a_category_the_program_does_not_accept_is_not_eligible(program):
    # given an enterprise (the program accepts tech SMEs, universities and makers)
    enterprise = make_org(jurisdiction="640104", category=EntityCategory.ENTERPRISE)
    # when
    report = check(program, enterprise, 100)
    # then
    assert decided(report)["entity_category"] == (False, "This program is not open to Enterprise (企业).")


def test_an_entity_outside_the_jurisdiction_is_not_eligible(program, baoding_entity):
    report = check(program, baoding_entity, 100)
    assert decided(report)["entity_jurisdiction"] == (
        False,
        f"The entity is not located in {program.jurisdiction.name}.",
    )
    assert decided(report)["entity_category"][0] is True
    assert [c.check for c in report.failures] == ["entity_jurisdiction"]


# --- The entity's yearly cap ----------------------------------------------------------------------------------


def test_an_amount_equal_to_the_entity_cap_is_within_it_and_one_fen_more_is_not(program, entity):
    # given nothing received yet, and a 300 yuan per-entity cap
    # when / then
    assert decided(check(program, entity, 30_000))["entity_cap"] == (True, "Within the entity's yearly cap.")
    assert decided(check(program, entity, 30_001))["entity_cap"] == (
        False,
        "The entity may receive only 300.00 yuan more this year.",
    )


def test_the_entity_cap_counts_what_was_issued_less_what_was_returned(program, program_admin, entity, issue):
    # given 200 yuan issued and revoked unused (returned), then 250 yuan issued: 250 used of 300
    voucher_revoke(actor=program_admin, voucher=issue(program, entity, 20_000), reason="错发")
    issue(program, entity, 25_000)
    rules = program.versions.get().parsed()
    # when / then: 50 yuan left, not 300 - (450 + 200) nor 300 - 450
    assert entity_remaining_cap(program, entity, YEAR, rules) == 5_000
    assert decided(check(program, entity, 5_000))["entity_cap"][0] is True
    assert decided(check(program, entity, 5_001))["entity_cap"] == (
        False,
        "The entity may receive only 50.00 yuan more this year.",
    )


def test_an_exhausted_entity_cap_lets_not_one_fen_through(program, entity, issue):
    # given the whole 300 yuan issued
    issue(program, entity, 30_000)
    # when / then
    assert entity_remaining_cap(program, entity, YEAR, program.versions.get().parsed()) == 0
    assert decided(check(program, entity, 1))["entity_cap"] == (
        False,
        "The entity may receive only 0.00 yuan more this year.",
    )


def test_the_entity_cap_is_the_one_in_force_after_a_change_not_the_one_of_the_last_issuance(
    program, program_admin, entity, issue
):
    # given 100 yuan issued under a 300 yuan cap, then the cap cut to 150 yuan
    issue(program, entity, 10_000)
    program_update(actor=program_admin, program=program, rules={"per_entity_annual_cap": "150.00"})
    # when / then: 50 yuan left (issuance would refuse more), not 200
    assert decided(check(program, entity, 5_000))["entity_cap"][0] is True
    assert decided(check(program, entity, 5_001))["entity_cap"] == (
        False,
        "The entity may receive only 50.00 yuan more this year.",
    )
    # and when the cap is raised to 500 yuan, 400 are left
    program_update(actor=program_admin, program=program, rules={"per_entity_annual_cap": "500.00"})
    assert decided(check(program, entity, 40_000))["entity_cap"][0] is True
    assert decided(check(program, entity, 40_001))["entity_cap"][0] is False


def test_the_entity_cap_is_counted_per_program_entity_and_year(
    program, program_admin, ningxia_agency, entity, other_entity, issue
):
    # given the entity's whole 300 yuan issued in this program this year, and a second program with the same cap
    second = make_program(program_admin, ningxia_agency, code="nx-second")
    issue(program, entity, 30_000)
    rules = program.versions.get().parsed()
    # when / then: another entity, another program, or another year still has the whole cap
    assert entity_remaining_cap(program, entity, YEAR, rules) == 0
    assert entity_remaining_cap(program, other_entity, YEAR, rules) == 30_000
    assert entity_remaining_cap(second, entity, YEAR, second.versions.get().parsed()) == 30_000
    assert entity_remaining_cap(program, entity, YEAR + 1, rules) == 30_000
    assert decided(check(program, other_entity, 30_000))["entity_cap"][0] is True
    assert decided(check(second, entity, 30_000))["entity_cap"][0] is True


def test_without_a_per_entity_cap_only_the_budget_limits(program_admin, ningxia_agency, entity, issue):
    # given a program without a per-entity cap, from which the entity already received 100 yuan
    uncapped = make_program(program_admin, ningxia_agency, code="nx-uncapped", per_entity=None)
    issue(uncapped, entity, 10_000)
    # when / then
    assert entity_remaining_cap(uncapped, entity, YEAR, uncapped.versions.get().parsed()) is None
    assert decided(check(uncapped, entity, 90_000))["entity_cap"] == (True, "Within the entity's yearly cap.")


# --- The program's budget -----------------------------------------------------------------------------------


def test_an_amount_equal_to_what_is_left_of_the_budget_is_within_it_and_one_fen_more_is_not(
    program_admin, ningxia_agency, entity, other_entity, issue, outsider, reviewer, django_capture_on_commit_callbacks
):
    # given a program without a per-entity cap whose 1,000 yuan budget has 400 yuan issued
    uncapped = make_program(program_admin, ningxia_agency, code="nx-budget", per_entity=None)
    issue(uncapped, entity, 40_000)
    # when / then: 600 yuan left, for any entity
    assert decided(check(uncapped, other_entity, 60_000))["budget"] == (True, "Within the program's budget.")
    assert decided(check(uncapped, other_entity, 60_001))["budget"] == (
        False,
        "The program's budget has only 600.00 yuan left this year.",
    )


def test_a_fiscal_year_not_yet_opened_is_refused(program, entity):
    # given the program's budget is open for this year only
    # when an application is checked against next year
    report = check(program, entity, 100, year=YEAR + 1)
    # then
    assert decided(report)["budget"] == (False, f"Fiscal year {YEAR + 1} is not open for this program.")
    assert not report.ok


# --- Fixed awards -------------------------------------------------------------------------------------------


@pytest.fixture
def two_awards(program_admin, ningxia_agency):
    """A program with the settling-in award (100 yuan, once, by the records) and a first-purchase award (50 yuan,
    any number of times, judged by a reviewer)."""
    return make_program(
        program_admin, ningxia_agency, code="nx-awards", fixed_awards=[SETTLING_IN, FIRST_PURCHASE], per_entity=None
    )


def test_each_award_of_a_program_is_checked_against_its_own_amount(two_awards, entity):
    # given / when: the first-purchase award, asked for at its own amount and at the other award's
    at_its_amount = decided(check(two_awards, entity, 5_000, award_code="first_purchase"))
    at_the_other = decided(check(two_awards, entity, 10_000, award_code="first_purchase"))
    # then
    assert at_its_amount["award_amount"] == (True, "The award is 50.00 yuan.")
    assert at_the_other["award_amount"] == (False, "The award is 50.00 yuan.")
    settling = decided(check(two_awards, entity, 10_000, award_code="settling_in"))
    assert settling["award_amount"] == (True, "The award is 100.00 yuan.")


@pytest.mark.parametrize("amount", [9_999, 10_001, 1, 20_000])
def test_a_fixed_award_asked_for_at_another_amount_is_refused(program, entity, amount):
    report = check(program, entity, amount, award_code="settling_in")
    assert decided(report)["award_amount"] == (False, "The award is 100.00 yuan.")
    assert not report.ok


def test_an_unknown_award_code_is_refused_and_no_other_award_check_is_made(program, entity):
    # given / when
    report = check(program, entity, 10_000, award_code="first_purchase")
    # then: the award does not exist; the entity and caps are still checked
    checks = decided(report)
    assert checks["award_exists"] == (False, "This program has no award first_purchase.")
    assert not {"award_amount", "award_category", "award_condition", "award_once"} & checks.keys()
    assert [c.check for c in report.checks] == [
        "program_in_force",
        "entity_not_barred",
        "entity_category",
        "entity_jurisdiction",
        "award_exists",
        "entity_cap",
        "budget",
    ]


def test_an_award_checked_by_a_reviewer_has_no_automatic_condition_and_may_be_granted_again(two_awards, entity):
    # given an entity that never settled here, asking for the reviewer-judged first-purchase award
    # when
    report = check(two_awards, entity, 5_000, award_code="first_purchase")
    # then the reviewers judge the condition, and the award is not once per entity
    assert [c.check for c in report.checks] == [
        "program_in_force",
        "entity_not_barred",
        "entity_category",
        "entity_jurisdiction",
        "award_amount",
        "award_category",
        "entity_cap",
        "budget",
    ]
    assert report.ok


@pytest.mark.parametrize(
    ("settled_on", "ok", "message"),
    [
        (date(YEAR, 1, 1), True, f"Settled in {YEAR}."),
        (date(YEAR, 12, 31), True, f"Settled in {YEAR}."),
        (date(YEAR - 1, 12, 31), False, f"The entity did not settle here in {YEAR}."),
        (None, False, f"The entity did not settle here in {YEAR}."),
    ],
)
def test_the_settling_in_award_is_decided_by_the_records(program, settled_on, ok, message):
    # given an entity settled this year, last year, or never
    settler = make_org(jurisdiction="640104", settled_on=settled_on)
    # when
    report = check(program, settler, 10_000, award_code="settling_in")
    # then
    assert decided(report)["award_condition"] == (ok, message)
    assert report.ok is ok


def test_an_award_narrowed_to_other_categories_is_refused(program_admin, ningxia_agency, entity):
    # given an award for universities only, asked for by a tech SME
    narrowed = make_program(
        program_admin,
        ningxia_agency,
        code="nx-narrow",
        fixed_awards=[{**FIRST_PURCHASE, "categories": ["university"]}],
    )
    university = make_org(jurisdiction="640104", category=EntityCategory.UNIVERSITY)
    # when / then
    assert decided(check(narrowed, entity, 5_000, award_code="first_purchase"))["award_category"] == (
        False,
        f"This award is not open to {TECH_SME}.",
    )
    assert decided(check(narrowed, university, 5_000, award_code="first_purchase"))["award_category"] == (
        True,
        "This award is open to University (高校).",
    )


def test_an_award_narrowed_to_categories_is_not_open_to_an_organisation_without_one(program_admin, ningxia_agency):
    narrowed = make_program(
        program_admin, ningxia_agency, code="nx-narrow", fixed_awards=[{**FIRST_PURCHASE, "categories": ["university"]}]
    )
    report = check(narrowed, ningxia_agency, 5_000, award_code="first_purchase")
    assert decided(report)["award_category"] == (False, "This award is not open to —.")


def test_a_once_per_entity_award_not_granted_before_passes(program, entity):
    entity.settled_on = date(YEAR, 3, 1)
    entity.save(update_fields=["settled_on"])
    report = check(program, entity, 10_000, award_code="settling_in")
    assert decided(report)["award_once"] == (True, "Not granted before.")
    assert report.ok


def test_a_once_per_entity_award_on_its_way_or_granted_is_not_granted_again(
    program, reviewer, entity, django_capture_on_commit_callbacks
):
    # given an entity that settled this year, for which the award has been granted but not yet issued
    entity.settled_on = date(YEAR, 3, 1)
    entity.save(update_fields=["settled_on"])
    pending = award_grant(actor=reviewer, program=program, entity=entity, award_code="settling_in")
    # when / then
    assert decided(check(program, entity, 10_000, award_code="settling_in"))["award_once"] == (
        False,
        "This award is already being issued to this entity.",
    )
    # and once it is issued
    issuance_execute(issuance_id=pending.pk)
    assert decided(check(program, entity, 10_000, award_code="settling_in"))["award_once"] == (
        False,
        "This award has already been granted to this entity.",
    )


def test_a_repeatable_award_is_not_checked_for_earlier_grants(two_awards, reviewer, entity):
    # given the first-purchase award granted once already (on its way)
    award_grant(actor=reviewer, program=two_awards, entity=entity, award_code="first_purchase")
    # when / then
    assert "award_once" not in decided(check(two_awards, entity, 5_000, award_code="first_purchase"))


RELOCATION = {
    "code": "relocation",
    "description": "迁入奖励",
    "check": "reviewer",
    "amount": "20.00",
    "once_per_entity": True,
}


@pytest.fixture
def settled(entity, other_entity):
    """Both entities settled here this year, so the settling-in award is theirs to receive."""
    for organisation in (entity, other_entity):
        organisation.settled_on = date(YEAR, 3, 1)
        organisation.save(update_fields=["settled_on"])
    return entity, other_entity


@pytest.mark.parametrize("state", ["pending", "issued"])
@pytest.mark.parametrize("elsewhere", ["another_program", "another_entity", "another_award"])
def test_a_once_per_entity_award_granted_elsewhere_does_not_count(
    program_admin, ningxia_agency, reviewer, settled, django_capture_on_commit_callbacks, state, elsewhere
):
    # given a grant (on its way, or issued) to another entity, of another award, or in another program
    entity, other_entity = settled
    awards = [SETTLING_IN, RELOCATION]
    first = make_program(program_admin, ningxia_agency, code="nx-first", fixed_awards=awards, per_entity=None)
    second = make_program(program_admin, ningxia_agency, code="nx-second", fixed_awards=awards, per_entity=None)
    granted = {
        "another_program": (second, entity, "settling_in"),
        "another_entity": (first, other_entity, "settling_in"),
    }
    program, grantee, code = granted.get(elsewhere, (first, entity, "relocation"))
    with django_capture_on_commit_callbacks(execute=state == "issued"):
        award_grant(actor=reviewer, program=program, entity=grantee, award_code=code)
    # when the settling-in award of the first program is checked for the entity
    report = check(first, entity, 10_000, award_code="settling_in")
    # then it has not been granted before
    assert decided(report)["award_once"] == (True, "Not granted before.")


def test_a_once_per_entity_award_whose_issuance_failed_may_be_asked_for_again(
    program, reviewer, settled, django_capture_on_commit_callbacks
):
    # given a grant whose issuance was refused (the entity's settling date was corrected in between)
    entity, _ = settled
    grant = award_grant(actor=reviewer, program=program, entity=entity, award_code="settling_in")
    entity.settled_on = date(YEAR - 1, 3, 1)
    entity.save(update_fields=["settled_on"])
    issuance_execute(issuance_id=grant.pk)
    grant.refresh_from_db()
    assert grant.status == "failed"
    entity.settled_on = date(YEAR, 3, 1)
    entity.save(update_fields=["settled_on"])
    # when / then: the failed issuance neither granted it nor is on its way
    assert decided(check(program, entity, 10_000, award_code="settling_in"))["award_once"] == (
        True,
        "Not granted before.",
    )
