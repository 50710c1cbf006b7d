"""The automatic checks of a claim's evaluation (``claims.checks``): what each decides, and that its message says so.

The program is the Baoding seed (``bd``: 50 % on a local platform, 60 % for a major project's lead, the default
90 days of grace, no claim window, no minimum, related parties refused, the four usual kinds of evidence). Each
test drafts a claim through the API, then reads the checks on a ``Context`` built as the evaluation builds it;
a rule the seed does not set (a claim window, a minimum, pro-rating, flagging related parties) is set on the
context's rules only. ``make mutation`` holds ``checks.py`` to this file.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.audit import SYSTEM
from accounts.models import OrganizationKind
from accounts.services import entity_bar
from tests.claims import (
    YUAN,
    attach_evidence,
    claim_body,
    create,
    invoice_number,
    issue_voucher,
    list_provider,
    yuan,
)
from tests.factories import make_org, make_user, valid_uscc
from voucher_service.claims import checks
from voucher_service.claims.checks import Check, Context
from voucher_service.claims.evaluation import claim_evaluate, claim_submit
from voucher_service.claims.models import Claim, ClaimInvoice, ClaimPayment
from voucher_service.claims.platform import platform_order_record
from voucher_service.programs.models import Program
from voucher_service.programs.rules import ClaimWindow, ProRating, RelatedParties
from voucher_service.programs.selectors import program_version_in_force
from voucher_service.vouchers.models import Voucher, VoucherStatus

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def draft(cast, body=None, *, evidence=("contract", "invoice", "payment_proof", "usage_statement")) -> Claim:
    response = create(cast, body or claim_body(cast))
    assert response.status_code == 201, response.json()
    claim = Claim.objects.select_related("program", "entity", "provider").get(pk=response.json()["id"])
    if evidence:
        attach_evidence(claim, cast.applicant, kinds=evidence)
    return claim


def context(claim: Claim, *, filed_on: date | None = None, vouchers=None, **rules) -> Context:
    """The context the evaluation reads, filed today unless told, with some rules changed if asked."""
    version = program_version_in_force(claim.program, timezone.now())
    assert version is not None
    return Context(
        claim=claim,
        version=version,
        rules=dataclasses.replace(version.parsed(), **rules),
        filed_on=filed_on or TODAY(),
        vouchers=checks.select_vouchers(claim) if vouchers is None else vouchers,
    )


def answers(ctx: Context, *codes: str) -> list[tuple[str, bool, str]]:
    """(check, ok, English message) of every check run, or of those named."""
    return [(r.check, r.ok, r.message["en"]) for r in checks.run_checks(ctx) if not codes or r.check in codes]


def evaluated(cast, body) -> Claim:
    claim = draft(cast, body)
    claim_submit(actor=cast.applicant, claim=claim)
    return claim_evaluate(claim_id=claim.pk)


def another_program(cast) -> Program:
    """A seed program other than the cast's: the claim's program when a test moves a claim to another one."""
    program = Program.objects.exclude(pk=cast.program.pk).order_by("pk").first()
    assert program is not None
    return program


@pytest.fixture
def voucher(bd) -> Voucher:
    return issue_voucher(bd.program, bd.entity, 800_000 * YUAN)


# --- a sound claim ------------------------------------------------------------------------------------------------


def test_a_sound_baoding_claim_passes_every_check_in_order_saying_so(bd, voucher):
    # given a 1,000,000 yuan local-platform claim on an 800,000 yuan voucher, with all its evidence
    claim = draft(bd)
    # when its checks run
    results = answers(context(claim))
    # then every check passes, in the fixed order, each saying what it found
    year = TODAY().year
    assert results == [
        ("declaration", True, "The truthfulness declaration (真实性承诺书) is accepted."),
        ("evidence", True, "Every required kind of evidence is attached."),
        ("consistency", True, "Invoices, payments, contract and periods agree."),
        ("vouchers", True, f"1 voucher(s) of {year} redeemed."),
        ("delivery_window", True, "The delivery lies inside the program's and the vouchers' validity."),
        ("claim_window", True, "Filed inside the program's claim window."),
        ("grace_period", True, "Filed within 90 days of the vouchers' validity."),
        ("provider", True, "The provider was listed and in scope for this service on the delivery dates."),
        ("not_twice", True, "Neither the contract nor an invoice was subsidised before."),
        ("entity_not_barred", True, "The entity is not barred."),
        ("entity_eligible", True, "The entity may hold vouchers of this program."),
        ("related_parties", True, "Buyer and provider are not related."),
    ]


def test_each_message_is_kept_in_chinese_and_in_english(bd, voucher):
    # given a sound claim
    ctx = context(draft(bd))
    # when its checks run
    results = {r.check: r for r in checks.run_checks(ctx)}
    # then each message is stored in both languages the API speaks
    assert results["entity_not_barred"].as_dict() == {
        "check": "entity_not_barred",
        "ok": True,
        "message": {"zh-hans": "该主体未被限制。", "en": "The entity is not barred."},
    }
    assert results["related_parties"].message == {
        "zh-hans": "购买方与服务商不存在关联关系。",
        "en": "Buyer and provider are not related.",
    }


def test_a_check_renders_its_message_once_per_language():
    # given a message that counts how often it is rendered
    rendered = []
    # when a check is made of it
    result = checks.check("x", False, lambda: rendered.append(1) or f"rendered {len(rendered)}")
    # then it was rendered for zh-hans and then for en
    assert result == Check("x", False, {"zh-hans": "rendered 1", "en": "rendered 2"})


# --- declaration and evidence -------------------------------------------------------------------------------------


def test_a_claim_without_the_declaration_is_refused(bd, voucher):
    # given a claim whose truthfulness declaration is not accepted
    claim = draft(bd, claim_body(bd, declaration_accepted=False))
    # when checked
    # then the declaration check fails, saying so
    assert answers(context(claim), "declaration") == [
        ("declaration", False, "The truthfulness declaration (真实性承诺书) has not been accepted.")
    ]


def test_missing_evidence_is_named_in_the_programs_order(bd, voucher):
    # given a claim with only its contract and its usage statement attached
    claim = draft(bd, evidence=("usage_statement", "contract"))
    # when checked
    # then the missing kinds are named, in the order the program lists them
    assert answers(context(claim), "evidence") == [("evidence", False, "Evidence missing: invoice, payment_proof.")]


# --- consistency ---------------------------------------------------------------------------------------------------


def test_every_disagreement_is_a_check_of_its_own_in_both_languages(bd, voucher):
    # given a claim whose payment was raised, after drafting, to 1,200,000 yuan over a 1,000,000 yuan contract
    claim = draft(bd)
    ClaimPayment.objects.filter(claim=claim).update(amount=1_200_000 * YUAN)
    # when checked
    results = [r for r in checks.run_checks(context(claim)) if r.check == "consistency"]
    # then each problem is a failed check, in English and in Chinese
    assert [(r.ok, r.message["en"]) for r in results] == [
        (False, "The invoices add up to 1000000.00 yuan but the payments to 1200000.00 yuan."),
        (False, "The invoices and payments (1200000.00 yuan) exceed the contract amount (1000000.00 yuan)."),
    ]
    assert all(r.message["zh-hans"] not in ("", r.message["en"]) for r in results)
    assert results[0].message["zh-hans"] != results[1].message["zh-hans"]


def test_invoices_of_another_issuer_are_named_once_each_in_order(bd, voucher):
    # given a claim whose invoice is the provider's, plus two invoices of one stranger and one of another
    claim = draft(bd)
    first, second = sorted([valid_uscc(), valid_uscc()])
    for issuer in (second, first, second):
        ClaimInvoice.objects.create(
            claim=claim, issuer_uscc=issuer, number=invoice_number(), issued_on=TODAY(), amount=1
        )
    ClaimPayment.objects.create(claim=claim, bank_reference="BR-X", paid_on=TODAY(), amount=3)
    # when checked
    # then the strangers are named once each, sorted, and the amounts still agree
    assert answers(context(claim), "consistency", "invoice_issuer") == [
        (
            "consistency",
            False,
            "The invoices and payments (1000000.03 yuan) exceed the contract amount (1000000.00 yuan).",
        ),
        ("invoice_issuer", False, f"Invoices issued by {first}, {second}, not by the provider."),
    ]


def test_only_invoices_of_another_issuer_fail_the_issuer_check(bd, voucher):
    # given a claim whose one invoice was issued by someone other than the provider
    claim = draft(bd)
    stranger = valid_uscc()
    ClaimInvoice.objects.filter(claim=claim).update(issuer_uscc=stranger)
    # when checked
    # then only that fails: the claim agrees with itself
    assert answers(context(claim), "consistency", "invoice_issuer") == [
        ("invoice_issuer", False, f"Invoices issued by {stranger}, not by the provider.")
    ]


# --- vouchers -----------------------------------------------------------------------------------------------------


def test_the_vouchers_named_are_redeemed_in_the_order_named(bd):
    # given two vouchers, named in the claim the other way round, and one the entity does not have
    older = issue_voucher(bd.program, bd.entity, 100_000 * YUAN)
    newer = issue_voucher(bd.program, bd.entity, 200_000 * YUAN)
    claim = draft(bd)
    claim.requested_vouchers = [newer.pk, 10**9, older.pk]
    # when the vouchers are selected
    # then they come in that order, without the unknown one
    assert [v.pk for v in checks.select_vouchers(claim)] == [newer.pk, older.pk]


def test_without_names_the_active_vouchers_covering_the_delivery_are_taken_soonest_expiring_first(bd):
    # given three active vouchers of the program expiring on different days, one revoked, one of another program
    start, end = TODAY() - timedelta(days=70), TODAY() - timedelta(days=10)
    late = issue_voucher(bd.program, bd.entity, 100_000 * YUAN)
    soon = issue_voucher(bd.program, bd.entity, 100_000 * YUAN)
    same_day = issue_voucher(bd.program, bd.entity, 100_000 * YUAN)
    revoked = issue_voucher(bd.program, bd.entity, 100_000 * YUAN)
    Voucher.objects.filter(pk=soon.pk).update(valid_until=end)
    Voucher.objects.filter(pk=same_day.pk).update(valid_until=late.valid_until)
    Voucher.objects.filter(pk=revoked.pk).update(status=VoucherStatus.REVOKED)
    claim = draft(bd)
    # when the vouchers are selected for a delivery of the last two months (ending the day ``soon`` ends)
    assert (claim.delivery_starts_on, claim.delivery_ends_on) == (start, end)
    # then the active ones are taken, soonest-expiring first, then in the order issued
    assert [v.pk for v in checks.select_vouchers(claim)] == [soon.pk, late.pk, same_day.pk]


def test_vouchers_whose_validity_misses_the_delivery_are_not_taken(bd):
    # given one voucher valid only from the day the delivery ended, one ending the day before it started
    start, end = TODAY() - timedelta(days=70), TODAY() - timedelta(days=10)
    from_the_end = issue_voucher(bd.program, bd.entity, 100_000 * YUAN, valid_from=end)
    after = issue_voucher(bd.program, bd.entity, 100_000 * YUAN, valid_from=end + timedelta(days=1))
    before = issue_voucher(bd.program, bd.entity, 100_000 * YUAN)
    Voucher.objects.filter(pk=before.pk).update(valid_until=start - timedelta(days=1))
    claim = draft(bd)
    # when the vouchers are selected
    # then only the one whose validity touches the delivery is taken
    assert [v.pk for v in checks.select_vouchers(claim)] == [from_the_end.pk]
    assert after.pk != before.pk


@pytest.mark.parametrize("named", [False, True], ids=["by_default", "named"])
def test_only_the_claiming_entitys_vouchers_of_the_claims_program_are_taken(bd, named):
    # given the entity's voucher of the program, and a claim whose entity, then program, is another one
    own = issue_voucher(bd.program, bd.entity, 100_000 * YUAN)
    claim = draft(bd)
    if named:
        claim.requested_vouchers = [own.pk]
    assert [v.pk for v in checks.select_vouchers(claim)] == [own.pk]
    # when the vouchers are selected for another entity's claim, or for a claim of another program
    # then the voucher is not among them
    claim.entity_id = make_org(jurisdiction=bd.entity.jurisdiction_id, category="enterprise").pk
    assert checks.select_vouchers(claim) == []
    claim.entity_id, claim.program_id = bd.entity.pk, another_program(bd).pk
    assert checks.select_vouchers(claim) == []


def test_an_entity_without_vouchers_is_refused(bd):
    # given no voucher at all
    claim = draft(bd)
    # when checked
    # then it is told it has none with a balance
    assert answers(context(claim), "vouchers") == [
        ("vouchers", False, "The entity has no voucher of this program with a balance to use.")
    ]


def test_a_voucher_with_nothing_available_is_not_usable(bd, voucher):
    # given a first claim that holds the whole 800,000 yuan of the voucher
    first = evaluated(bd, claim_body(bd, amount=2_000_000 * YUAN))
    assert (first.status, first.subsidy) == ("in_review", 800_000 * YUAN)
    # when a second claim is checked
    claim = draft(bd)
    # then the voucher is no use to it
    assert answers(context(claim), "vouchers") == [
        ("vouchers", False, "The entity has no voucher of this program with a balance to use.")
    ]


def test_two_usable_vouchers_of_one_year_pass(bd, voucher):
    # given a second voucher of one fen, both named
    other = issue_voucher(bd.program, bd.entity, 1)
    claim = draft(bd)
    claim.requested_vouchers = [voucher.pk, other.pk]
    # when checked
    # then both are redeemed
    assert answers(context(claim), "vouchers") == [("vouchers", True, f"2 voucher(s) of {TODAY().year} redeemed.")]


def test_vouchers_of_two_fiscal_years_are_refused(bd, voucher):
    # given a claim whose vouchers are of this year and (as read) of last year
    other = issue_voucher(bd.program, bd.entity, 100_000 * YUAN)
    other.fiscal_year -= 1
    claim = draft(bd)
    # when checked
    # then it is refused: one fiscal year per claim
    assert answers(context(claim, vouchers=[voucher, other]), "vouchers") == [
        ("vouchers", False, "A claim redeems active vouchers of one fiscal year, its own.")
    ]


def test_a_named_voucher_that_is_not_found_is_refused(bd, voucher):
    # given a claim naming its voucher and one that is not the entity's
    claim = draft(bd)
    claim.requested_vouchers = [voucher.pk, 10**9]
    # when checked
    # then it is refused
    assert answers(context(claim), "vouchers") == [
        ("vouchers", False, "A claim redeems active vouchers of one fiscal year, its own.")
    ]


def test_a_named_voucher_that_is_not_active_is_refused(bd, voucher):
    # given a claim naming two vouchers, the second revoked
    other = issue_voucher(bd.program, bd.entity, 100_000 * YUAN)
    Voucher.objects.filter(pk=other.pk).update(status=VoucherStatus.REVOKED)
    claim = draft(bd)
    claim.requested_vouchers = [voucher.pk, other.pk]
    # when checked
    # then it is refused, saying which rule
    assert answers(context(claim), "vouchers") == [
        ("vouchers", False, "A named voucher is not active or has nothing left.")
    ]


# --- windows -------------------------------------------------------------------------------------------------------


def test_the_eligible_window_is_where_the_program_and_every_voucher_overlap(bd, voucher):
    # given two vouchers: one valid from 200 days ago to the year's end, one from 100 days ago to 20 days ago
    other = issue_voucher(bd.program, bd.entity, 100_000 * YUAN, valid_from=TODAY() - timedelta(days=100))
    Voucher.objects.filter(pk=other.pk).update(valid_until=TODAY() - timedelta(days=20))
    other.refresh_from_db()
    ctx = context(draft(bd), vouchers=[voucher, other])
    # when the window is computed
    # then it starts with the later voucher and ends with the earlier
    assert checks.eligible_window(ctx) == (TODAY() - timedelta(days=100), TODAY() - timedelta(days=20))
    assert checks.eligible_window(context(ctx.claim, vouchers=[other, voucher])) == checks.eligible_window(ctx)
    # and without vouchers it is the program's own (Baoding: 2024-01-25 to 2027-01-24)
    assert checks.eligible_window(context(ctx.claim, vouchers=[])) == (date(2024, 1, 25), date(2027, 1, 24))


def test_a_program_without_dates_leaves_the_window_to_the_vouchers(bd, voucher):
    # given a program with no dates (as read), and its voucher
    claim = draft(bd)
    claim.program.valid_from = claim.program.valid_until = None
    # when the window is computed
    # then it is the voucher's validity; with no voucher either, it is open
    assert checks.eligible_window(context(claim)) == (voucher.valid_from, voucher.valid_until)
    assert checks.eligible_window(context(claim, vouchers=[])) == (None, None)


def test_days_inside_count_the_delivery_days_within_the_window(bd, voucher):
    # given a 61-day delivery and a voucher valid from its 46th day
    claim = draft(bd)
    start = claim.delivery_starts_on
    Voucher.objects.filter(pk=voucher.pk).update(valid_from=start + timedelta(days=45))
    # when the days are counted
    # then 16 of 61 lie inside
    assert checks.days_inside(context(claim)) == (16, 61)


def test_days_inside_stop_where_the_window_ends(bd, voucher):
    # given a voucher that ends on the 10th day of the delivery
    claim = draft(bd)
    Voucher.objects.filter(pk=voucher.pk).update(valid_until=claim.delivery_starts_on + timedelta(days=9))
    # when counted
    # then 10 of 61
    assert checks.days_inside(context(claim)) == (10, 61)


def test_days_inside_are_all_of_them_in_an_open_window_and_none_outside(bd, voucher):
    # given a claim and no window at all
    claim = draft(bd)
    claim.program.valid_from = claim.program.valid_until = None
    # then every day is inside
    assert checks.days_inside(context(claim, vouchers=[])) == (61, 61)
    # and a window ending days before the delivery holds none of it, not a negative number
    Voucher.objects.filter(pk=voucher.pk).update(valid_until=claim.delivery_starts_on - timedelta(days=5))
    assert checks.days_inside(context(claim, vouchers=[Voucher.objects.get(pk=voucher.pk)])) == (0, 61)


def test_a_delivery_partly_outside_the_window_is_refused_without_pro_rating(bd, voucher):
    # given a delivery starting 5 days before the program's window (as read)
    claim = draft(bd)
    claim.program.valid_from = claim.delivery_starts_on + timedelta(days=5)
    # when checked
    # then the delivery window check fails, naming both periods
    assert answers(context(claim), "delivery_window") == [
        (
            "delivery_window",
            False,
            f"The delivery ({claim.delivery_starts_on} to {claim.delivery_ends_on}) lies outside the program's "
            f"window ({claim.program.valid_from} to 2027-01-24) or a voucher's validity.",
        )
    ]


def test_a_program_without_an_end_is_shown_with_a_dash(bd, voucher):
    # given a program without an end (as Hohhot's) and a delivery running past the voucher's end
    claim = draft(bd)
    claim.program.valid_until = None
    Voucher.objects.filter(pk=voucher.pk).update(valid_until=claim.delivery_ends_on - timedelta(days=1))
    # when checked
    # then the message shows the open end as a dash
    assert answers(context(claim), "delivery_window") == [
        (
            "delivery_window",
            False,
            f"The delivery ({claim.delivery_starts_on} to {claim.delivery_ends_on}) lies outside the program's "
            "window (2024-01-25 to —) or a voucher's validity.",
        )
    ]


@pytest.mark.parametrize(("days_inside", "ok"), [(1, True), (0, False)])
def test_pro_rating_accepts_a_delivery_with_at_least_one_day_inside(bd, voucher, days_inside, ok):
    # given a program that pro-rates by days in the window, and a window ending on the first day of the delivery
    # (or the day before)
    claim = draft(bd)
    Voucher.objects.filter(pk=voucher.pk).update(valid_until=claim.delivery_starts_on + timedelta(days=days_inside - 1))
    # when checked
    ctx = context(claim, vouchers=[Voucher.objects.get(pk=voucher.pk)], pro_rating=ProRating.DAYS_IN_WINDOW)
    results = answers(ctx, "delivery_window")
    # then a day inside is enough; none is not
    assert [(code, passed) for code, passed, _message in results] == [("delivery_window", ok)]


def test_a_claim_filed_outside_the_claim_windows_is_refused(bd, voucher):
    # given a program that takes claims in January and in July only
    claim = draft(bd)
    windows = (ClaimWindow((1, 1), (1, 31)), ClaimWindow((7, 1), (7, 31)))
    # when filed on 2 December, or on 15 July
    refused = answers(context(claim, filed_on=date(2026, 12, 2), claim_windows=windows), "claim_window")
    accepted = answers(context(claim, filed_on=date(2026, 7, 15), claim_windows=windows), "claim_window")
    # then the first is refused, naming the windows, and the second accepted
    assert refused == [
        (
            "claim_window",
            False,
            "Filed on 2026-12-02, outside the program's claim windows (01-01 – 01-31; 07-01 – 07-31).",
        )
    ]
    assert accepted == [("claim_window", True, "Filed inside the program's claim window.")]


def test_claims_close_the_grace_days_after_a_voucher_ends(bd, voucher):
    # given the voucher's last day, and Baoding's 90 days of grace
    claim = draft(bd)
    last = voucher.valid_until + timedelta(days=90)
    # when filed on the 90th day after, and on the 91st
    on_time = answers(context(claim, filed_on=last), "grace_period")
    late = answers(context(claim, filed_on=last + timedelta(days=1)), "grace_period")
    # then the first is in time and the second is not, naming the voucher
    assert on_time == [("grace_period", True, "Filed within 90 days of the vouchers' validity.")]
    assert late == [
        (
            "grace_period",
            False,
            f"Voucher {voucher.serial} ended on {voucher.valid_until}; claims on it closed 90 days later.",
        )
    ]


def test_the_late_voucher_named_is_the_first_late_one(bd, voucher):
    # given two vouchers, the second ending a year before the first
    other = issue_voucher(bd.program, bd.entity, 100_000 * YUAN)
    other.valid_until = voucher.valid_until - timedelta(days=365)
    claim = draft(bd)
    # when filed 100 days after the second ended (the first still valid)
    filed = other.valid_until + timedelta(days=100)
    # then the second is named
    assert answers(context(claim, filed_on=filed, vouchers=[voucher, other], claim_grace_days=30), "grace_period") == [
        (
            "grace_period",
            False,
            f"Voucher {other.serial} ended on {other.valid_until}; claims on it closed 30 days later.",
        )
    ]


# --- the provider and the designated platform ----------------------------------------------------------------------


def test_a_provider_outside_the_programs_jurisdiction_is_refused_naming_the_day(bd, voucher):
    # given a provider listed in Yinchuan, not in Baoding
    bd.provider = list_provider("640104")
    claim = draft(bd)
    # when checked
    results = [r for r in checks.run_checks(context(claim)) if r.check in ("provider", "platform_order")]
    # then the provider check fails, naming the first day it was judged on, and why, in each language
    assert [(r.check, r.ok) for r in results] == [("provider", False)]
    assert results[0].message == {
        "zh-hans": f"{claim.delivery_starts_on}：该算力服务商不在本政策辖区内。",
        "en": f"On {claim.delivery_starts_on}: The provider is not located in the program's jurisdiction.",
    }


@pytest.fixture
def hohhot(bd):
    """The Hohhot seed: providers through the Horinger platform only, orders recorded by the platform."""
    program = Program.objects.get(code="hohhot-2025-11-3-1")
    platform = program.issuing_agency.__class__.objects.get(name="和林格尔多云算力监测与调度平台")
    bd.program, bd.platform = program, platform
    bd.provider = list_provider("150123", platforms=(platform,))
    bd.entity = make_org(jurisdiction="150102", category="enterprise", name="呼和浩特数智科技有限公司")
    bd.applicant = make_user(bd.entity, "applicant", username="hh_applicant")
    bd.platform_user = make_user(platform, "applicant", username="horinger")
    issue_voucher(program, bd.entity, 500_000 * YUAN)
    return bd


def hohhot_claim(cast, number="HL-2026-0001") -> Claim:
    return draft(cast, claim_body(cast, amount=100_000 * YUAN, conditions=(), platform_order_number=number))


def record_order(cast, claim, **changes):
    fields = {
        "order_number": "HL-2026-0001",
        "buyer_uscc": cast.entity.uscc,
        "provider": cast.provider,
        "amount": 100_000 * YUAN,
        "service_starts_on": claim.delivery_starts_on,
        "service_ends_on": claim.delivery_ends_on,
        **changes,
    }
    order, _created = platform_order_record(actor=cast.platform_user, platform=cast.platform, **fields)
    return order


def test_a_hohhot_claim_citing_the_matching_order_passes_and_keeps_the_order(hohhot):
    # given the platform's order for exactly the claim's provider, buyer, amount and period
    claim = hohhot_claim(hohhot)
    order = record_order(hohhot, claim)
    # when checked
    results = answers(context(claim), "provider", "platform_order")
    # then both the provider and the order check pass, and the claim keeps the order
    assert results == [
        ("provider", True, "The provider was listed and in scope for this service on the delivery dates."),
        ("platform_order", True, "Platform order HL-2026-0001 matches the claim."),
    ]
    assert claim.platform_order == order


@pytest.mark.parametrize(
    "change",
    [
        "provider",
        "buyer_uscc",
        "amount",
        "service_starts_on",
        "service_ends_on",
    ],
)
def test_an_order_differing_in_one_respect_does_not_match(hohhot, change):
    # given the platform's order, differing from the claim in one respect only
    claim = hohhot_claim(hohhot)
    other = {
        "provider": list_provider("150123", platforms=(hohhot.platform,)),
        "buyer_uscc": valid_uscc(),
        "amount": 100_000 * YUAN - 1,
        "service_starts_on": claim.delivery_starts_on + timedelta(days=1),
        "service_ends_on": claim.delivery_ends_on - timedelta(days=1),
    }
    record_order(hohhot, claim, **{change: other[change]})
    # when checked
    # then the order check fails, and the claim keeps no order
    assert answers(context(claim), "platform_order") == [
        (
            "platform_order",
            False,
            "Platform order HL-2026-0001 does not match the claim's provider, buyer, amount or period.",
        )
    ]
    assert claim.platform_order is None


@pytest.mark.parametrize("number", ["", "HL-2026-0002"])
def test_a_claim_citing_no_recorded_order_is_refused(hohhot, number):
    # given an order recorded by the platform, and a claim citing no order, or another number
    claim = hohhot_claim(hohhot, number)
    record_order(hohhot, claim, order_number="HL-2026-0001")
    # when checked
    # then it cites no order the platform recorded
    assert answers(context(claim), "platform_order") == [
        ("platform_order", False, "The claim cites no order recorded by the designated platform.")
    ]


# --- not twice -------------------------------------------------------------------------------------------------------


def test_a_contract_and_an_invoice_subsidised_by_another_claim_are_refused_naming_it(bd, voucher):
    # given two drafts of the same contract, one invoice in both, and the first claim's subsidy reserved
    body = claim_body(bd, amount=100_000 * YUAN)
    second = draft(bd, {**body, "payments": [{**body["payments"][0], "bank_reference": "BR-2"}]})
    first = evaluated(bd, body)
    assert first.status == "in_review", first.outcome_reason
    invoice = second.invoices.get()
    # when the second is checked
    # then it is told the contract and the invoice count for the first already
    assert answers(context(second), "contract_once", "invoice_once", "not_twice") == [
        ("contract_once", False, f"Contract {second.contract_number} is already subsidised by claim #{first.pk}."),
        ("invoice_once", False, f"Invoice {invoice.code}{invoice.number} is already subsidised by claim #{first.pk}."),
    ]
    # and the first, checked again, is not refused for what it counts itself
    assert answers(context(Claim.objects.get(pk=first.pk)), "contract_once", "invoice_once", "not_twice") == [
        ("not_twice", True, "Neither the contract nor an invoice was subsidised before.")
    ]


def test_an_invoice_alone_subsidised_before_is_refused(bd, voucher):
    # given another claim whose invoice (same issuer, code and number) counts, under another contract
    body = claim_body(bd, amount=100_000 * YUAN)
    second = draft(bd, {**claim_body(bd, amount=100_000 * YUAN), "invoices": body["invoices"]})
    first = evaluated(bd, body)
    invoice = second.invoices.get()
    # when checked
    # then only the invoice is named
    assert answers(context(second), "contract_once", "invoice_once", "not_twice") == [
        ("invoice_once", False, f"Invoice {invoice.code}{invoice.number} is already subsidised by claim #{first.pk}.")
    ]
    assert checks.invoice_taken_by(invoice, second) == first.pk
    assert checks.invoice_taken_by(first.invoices.get(), first) is None


def test_the_same_invoice_number_of_another_issuer_is_not_the_same_invoice(bd, voucher):
    # given a counting claim, and an invoice of the same number issued by someone else
    body = claim_body(bd, amount=100_000 * YUAN)
    first = evaluated(bd, body)
    second = draft(bd)
    invoice = second.invoices.get()
    ClaimInvoice.objects.filter(pk=invoice.pk).update(number=first.invoices.get().number, issuer_uscc=valid_uscc())
    # when asked who took it
    # then nobody did
    assert checks.invoice_taken_by(ClaimInvoice.objects.get(pk=invoice.pk), second) is None


def test_a_contract_subsidised_in_another_program_may_be_claimed_in_this_one(bd, voucher):
    # given a counting claim, and a draft of the same contract with an invoice of its own
    body = claim_body(bd, amount=100_000 * YUAN)
    first = evaluated(bd, body)
    assert first.status == "in_review", first.outcome_reason
    second = draft(bd, {**claim_body(bd, amount=100_000 * YUAN), "contract": body["contract"]})
    ctx = context(second)
    assert answers(ctx, "contract_once", "not_twice")[0][:2] == ("contract_once", False)
    # when the draft is checked as a claim of another program
    ctx.claim.program_id = another_program(bd).pk
    # then the contract is not taken: a contract counts once per program
    assert answers(ctx, "contract_once", "invoice_once", "not_twice") == [
        ("not_twice", True, "Neither the contract nor an invoice was subsidised before.")
    ]


def test_the_claim_named_for_a_taken_invoice_is_the_claim_and_not_the_invoice_row(bd, voucher):
    # given invoice rows numbered apart from claims (a draft with three invoices first), then a counting claim and
    # a draft of the same invoice
    spare = claim_body(bd, amount=300 * YUAN)
    thirds = [{**spare["invoices"][0], "number": invoice_number(), "amount": yuan(100 * YUAN)} for _ in range(3)]
    draft(bd, {**spare, "invoices": thirds}, evidence=())
    body = claim_body(bd, amount=100_000 * YUAN)
    second = draft(bd, {**claim_body(bd, amount=100_000 * YUAN), "invoices": body["invoices"]})
    first = evaluated(bd, body)
    assert first.invoices.get().pk != first.pk
    # when asked who took the invoice
    # then it names the first claim
    assert checks.invoice_taken_by(second.invoices.get(), second) == first.pk


@pytest.mark.parametrize(("field", "other"), [("code", "130012345679"), ("number", "12345679")])
def test_an_invoice_of_the_same_issuer_differing_in_code_or_number_is_another_invoice(bd, voucher, field, other):
    # given a counting claim with an old-style invoice (发票代码 + 号码), and another invoice of the same issuer
    first = evaluated(bd, claim_body(bd, amount=100_000 * YUAN))
    ClaimInvoice.objects.filter(claim=first).update(code="130012345678", number="12345678")
    second = draft(bd)
    same = {"issuer_uscc": bd.provider.uscc, "code": "130012345678", "number": "12345678"}
    ClaimInvoice.objects.filter(claim=second).update(**same)
    invoice = ClaimInvoice.objects.get(claim=second)
    assert checks.invoice_taken_by(invoice, second) == first.pk
    # when it differs in its code, or in its number, alone
    ClaimInvoice.objects.filter(pk=invoice.pk).update(**{field: other})
    # then nobody took it
    assert checks.invoice_taken_by(ClaimInvoice.objects.get(pk=invoice.pk), second) is None


# --- the parties ---------------------------------------------------------------------------------------------------


def test_a_barred_entity_is_refused_until_the_bar_ends(bd, voucher):
    # given a claim drafted, then the entity barred until the day of filing
    claim = draft(bd)
    until = TODAY() + timedelta(days=3)
    entity_bar(actor=SYSTEM, organization=bd.entity, until=until, reason="骗取补贴")
    # when checked on that day, and on the day after
    on_the_day = answers(context(claim, filed_on=until), "entity_not_barred")
    after = answers(context(claim, filed_on=until + timedelta(days=1)), "entity_not_barred")
    # then it is barred on the day, naming the end, and not after
    assert on_the_day == [("entity_not_barred", False, f"The entity is barred from claims until {until}.")]
    assert after == [("entity_not_barred", True, "The entity is not barred.")]


def test_an_entity_of_a_category_the_program_does_not_serve_is_refused(bd, voucher):
    # given an entity that is (as read) a compute intermediary, which Baoding does not serve
    claim = draft(bd)
    claim.entity.category = "compute_intermediary"
    # when checked
    # then it is not eligible
    assert answers(context(claim), "entity_eligible") == [
        ("entity_eligible", False, "The entity's category is not eligible under this program.")
    ]


def test_related_parties_are_refused_under_baoding(bd, voucher):
    # given a buyer that declared the provider an affiliate
    bd.entity.affiliates.add(bd.provider)
    claim = draft(bd)
    ctx = context(claim)
    # when checked
    # then Baoding refuses related parties, saying how they are related, and flags nothing
    assert answers(ctx, "related_parties") == [
        ("related_parties", False, "Buyer and provider are related parties (declared_affiliation).")
    ]
    assert ctx.flags == []


def test_related_parties_are_flagged_for_review_where_the_program_says_so(bd, voucher):
    # given the same affiliation, under a program that flags related parties for review
    bd.entity.affiliates.add(bd.provider)
    ctx = context(draft(bd), related_parties=RelatedParties.FLAG_FOR_REVIEW)
    # when checked
    results = answers(ctx, "related_parties")
    # then the check passes and the claim is flagged for the reviewers
    assert results == [
        (
            "related_parties",
            True,
            "Buyer and provider are related (declared_affiliation): flagged for the reviewers.",
        )
    ]
    assert ctx.flags == ["related_party"]


# --- the minimum and the eligible cost ----------------------------------------------------------------------------


def test_the_paid_cost_is_the_sum_of_the_payments(bd, voucher):
    # given a claim paid in two instalments
    claim = draft(bd)
    ClaimPayment.objects.create(claim=claim, bank_reference="BR-2", paid_on=TODAY(), amount=12_345)
    # when the paid cost is read
    # then it is their sum
    assert context(claim).paid == 1_000_000 * YUAN + 12_345


def test_without_pro_rating_the_eligible_cost_is_the_paid_cost(bd, voucher):
    # given a delivery partly outside the window, under Baoding (no pro-rating)
    claim = draft(bd)
    Voucher.objects.filter(pk=voucher.pk).update(valid_from=claim.delivery_starts_on + timedelta(days=45))
    # when the eligible cost is computed
    # then it is what was paid
    assert checks.eligible_cost(context(claim)) == 1_000_000 * YUAN


def test_pro_rating_by_days_scales_the_paid_cost_down_to_the_fen(bd, voucher):
    # given 16 of 61 days inside the window, under pro-rating by days
    claim = draft(bd)
    Voucher.objects.filter(pk=voucher.pk).update(valid_from=claim.delivery_starts_on + timedelta(days=45))
    # when the eligible cost is computed
    # then it is 1,000,000 yuan × 16 / 61 = 262,295.0819… yuan, down to the fen
    assert checks.eligible_cost(context(claim, pro_rating=ProRating.DAYS_IN_WINDOW)) == 26_229_508


def test_a_program_without_a_minimum_checks_none(bd, voucher):
    # given Baoding, which sets no minimum claim
    # when checked
    # then there is no minimum check at all
    assert answers(context(draft(bd)), "minimum_claim") == []


@pytest.mark.parametrize(("minimum", "ok"), [(1_000_000 * YUAN, True), (1_000_000 * YUAN + 1, False)])
def test_the_minimum_claim_is_met_by_an_eligible_cost_of_at_least_it(bd, voucher, minimum, ok):
    # given a 1,000,000 yuan claim, and a minimum of exactly that, or one fen more
    claim = draft(bd)
    # when checked
    results = answers(context(claim, minimum_claim=minimum), "minimum_claim")
    # then it passes at the minimum and fails one fen below, saying both figures
    shown = "1000000.00" if ok else "1000000.01"
    assert results == [
        (
            "minimum_claim",
            ok,
            f"The eligible cost is 1000000.00 yuan; the program's minimum claim is {shown} yuan.",
        )
    ]


def test_the_minimum_is_judged_on_the_pro_rated_cost(bd, voucher):
    # given 16 of 61 days inside, pro-rated, and a minimum of 300,000 yuan
    claim = draft(bd)
    Voucher.objects.filter(pk=voucher.pk).update(valid_from=claim.delivery_starts_on + timedelta(days=45))
    ctx = context(claim, pro_rating=ProRating.DAYS_IN_WINDOW, minimum_claim=300_000 * YUAN)
    # when checked
    # then the pro-rated 262,295.08 yuan falls short
    assert answers(ctx, "minimum_claim") == [
        (
            "minimum_claim",
            False,
            "The eligible cost is 262295.08 yuan; the program's minimum claim is 300000.00 yuan.",
        )
    ]


def test_a_provider_not_offering_the_service_type_is_refused_saying_so(bd, voucher):
    # given a listed provider of Baoding that sells GPU and NPU compute, and a claim for CPU compute
    claim = draft(bd)
    claim.service_type = "cpu"
    # when checked
    results = [r for r in checks.run_checks(context(claim)) if r.check == "provider"]
    # then the provider check fails, for that reason, in each language
    assert [(r.ok, r.message["en"]) for r in results] == [
        (False, f"On {claim.delivery_starts_on}: The provider did not offer this service type on that day.")
    ]
    assert results[0].message["zh-hans"].startswith(f"{claim.delivery_starts_on}：")
    assert results[0].message["zh-hans"] != results[0].message["en"]


def test_an_order_of_the_same_number_on_another_platform_is_not_the_claims_order(hohhot):
    # given an order of the claim's number, recorded by a platform the program does not designate
    claim = hohhot_claim(hohhot)
    elsewhere = make_org(OrganizationKind.PLATFORM, jurisdiction="150123", name="另一算力平台")
    recorder = make_user(elsewhere, "applicant", username="elsewhere")
    platform_order_record(
        actor=recorder,
        platform=elsewhere,
        order_number="HL-2026-0001",
        buyer_uscc=hohhot.entity.uscc,
        provider=hohhot.provider,
        amount=100_000 * YUAN,
        service_starts_on=claim.delivery_starts_on,
        service_ends_on=claim.delivery_ends_on,
    )
    # when checked
    # then the claim cites no order of the designated platform
    assert answers(context(claim), "platform_order") == [
        ("platform_order", False, "The claim cites no order recorded by the designated platform.")
    ]
