"""Submitting and evaluating a claim (``claims.evaluation``): the state it moves to, what it records (evaluation,
audit trail, holds) and why it refuses.

The program is the Baoding seed (``bd``: 50 % on a local platform, 60 % for a major project's lead, highest only,
1,000,000 yuan per entity and year, a 10,000,000 yuan annual cap). Claims are drafted through the API and then
submitted and evaluated by calling the services, as the task does. ``make mutation`` holds ``evaluation.py`` to
this file.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from accounts.audit import SYSTEM
from accounts.models import AuditEvent
from accounts.services import entity_bar
from tests.claims import YUAN, attach_evidence, claim_body, create, issue_voucher
from tests.factories import make_user, valid_uscc
from voucher_service.claims import checks
from voucher_service.claims.errors import ClaimError, ClaimErrorCode
from voucher_service.claims.evaluation import (
    claim_evaluate,
    claim_mark_evaluating,
    claim_submit,
    compute_for,
    context_for,
    records_conditions,
)
from voucher_service.claims.models import Claim, ClaimInvoice, ClaimStatus
from voucher_service.claims.reserve import lock_for
from voucher_service.claims.tasks import evaluate_claim
from voucher_service.notifications.tasks import notify_event
from voucher_service.programs.rules import Condition, ConditionCheck, ProRating, RateRule
from voucher_service.vouchers.models import Voucher

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def draft(cast, body=None) -> Claim:
    response = create(cast, body or claim_body(cast))
    assert response.status_code == 201, response.json()
    claim = Claim.objects.get(pk=response.json()["id"])
    attach_evidence(claim, cast.applicant)
    return claim


def submitted(cast, body=None) -> Claim:
    claim = draft(cast, body)
    return claim_submit(actor=cast.applicant, claim=claim)


def event(action: str) -> AuditEvent:
    return AuditEvent.objects.get(action=action)


@pytest.fixture
def voucher(bd) -> Voucher:
    return issue_voucher(bd.program, bd.entity, 800_000 * YUAN)


# --- submitting ------------------------------------------------------------------------------------------------------


def test_submitting_a_draft_starts_its_first_round_and_queues_the_evaluation(
    bd, voucher, django_capture_on_commit_callbacks
):
    # given a draft
    claim = draft(bd)
    before = timezone.now()
    # when its applicant submits it
    with django_capture_on_commit_callbacks() as callbacks:
        result = claim_submit(actor=bd.applicant, claim=claim)
    # then it is submitted in round 1 at the first stage, by the applicant, now, and one evaluation is queued
    stored = Claim.objects.get(pk=claim.pk)
    assert (stored.status, stored.round, stored.stage_index, stored.submitted_by) == ("submitted", 1, 0, bd.applicant)
    assert before <= stored.submitted_at <= timezone.now()
    assert (result.pk, result.status) == (claim.pk, "submitted")
    # (the other callbacks are the notifications its audit event leads to)
    assert [(c.task, c.args) for c in callbacks if c.task is not notify_event] == [(evaluate_claim, (claim.pk,))]
    # and the audit trail says so
    submit = event("claim.submit")
    assert (submit.actor, submit.organization, submit.target_id) == (bd.applicant, bd.entity, str(claim.pk))
    assert (submit.before, submit.after) == ({"status": "draft"}, {"status": "submitted", "round": 1})


def test_the_queued_evaluation_evaluates_the_claim(bd, voucher, django_capture_on_commit_callbacks):
    # given a draft
    claim = draft(bd)
    # when submitted, and the queued task runs
    with django_capture_on_commit_callbacks(execute=True):
        claim_submit(actor=bd.applicant, claim=claim)
    # then the claim was evaluated: in review, 500,000 yuan
    claim.refresh_from_db()
    assert (claim.status, claim.subsidy) == ("in_review", 500_000 * YUAN)


def test_resubmitting_a_returned_claim_starts_its_next_round_at_the_first_stage(bd, voucher):
    # given a claim returned for correction after its first round, at its third stage
    claim = draft(bd)
    Claim.objects.filter(pk=claim.pk).update(
        status=ClaimStatus.RETURNED, round=1, stage_index=2, outcome_reason="发票不清晰"
    )
    # when submitted again
    claim_submit(actor=bd.applicant, claim=claim)
    # then it is in its second round, at the first stage, and the old reason is gone
    claim.refresh_from_db()
    assert (claim.status, claim.round, claim.stage_index, claim.outcome_reason) == ("submitted", 2, 0, "")
    assert (event("claim.submit").before, event("claim.submit").after) == (
        {"status": "returned"},
        {"status": "submitted", "round": 2},
    )


def test_a_claim_already_submitted_cannot_be_submitted_again(bd, voucher):
    # given a submitted claim
    claim = submitted(bd)
    # when submitted again
    with translation.override("en"), pytest.raises(ClaimError) as refusal:
        claim_submit(actor=bd.applicant, claim=claim)
    # then it is refused, saying what it is
    assert refusal.value.code == ClaimErrorCode.INVALID_STATE
    assert str(refusal.value.message) == "Only a draft or a returned claim can be submitted; this one is Submitted."
    assert Claim.objects.get(pk=claim.pk).round == 1


def test_only_an_applicant_of_the_entity_submits(bd, voucher):
    # given a draft, and a reviewer of the program
    claim = draft(bd)
    # when the reviewer submits it
    with translation.override("en"), pytest.raises(ClaimError) as refusal:
        claim_submit(actor=bd.reviewer, claim=claim)
    # then it is refused, and the claim stays a draft
    assert (refusal.value.code, str(refusal.value.message)) == (
        ClaimErrorCode.PERMISSION_DENIED,
        "Only an applicant of the entity may do this.",
    )
    assert Claim.objects.get(pk=claim.pk).status == "draft"


def test_an_applicant_of_another_entity_cannot_submit(bd, voucher):
    # given a draft, and an applicant of another enterprise
    from tests.factories import make_org

    claim = draft(bd)
    stranger = make_user(make_org(jurisdiction="130602"), "applicant", username="other_applicant")
    # when that applicant submits the draft
    with pytest.raises(ClaimError) as refusal:
        claim_submit(actor=stranger, claim=claim)
    # then it is refused: only the entity's own applicants submit its claims
    assert refusal.value.code == ClaimErrorCode.PERMISSION_DENIED
    assert Claim.objects.get(pk=claim.pk).status == "draft"


def test_a_barred_entity_cannot_submit(bd, voucher):
    # given a draft, then the entity barred
    claim = draft(bd)
    entity_bar(actor=SYSTEM, organization=bd.entity, until=TODAY() + timedelta(days=30), reason="骗取补贴")
    # when its applicant submits it
    with pytest.raises(ClaimError) as refusal:
        claim_submit(actor=bd.applicant, claim=claim)
    # then it is refused as barred
    assert refusal.value.code == ClaimErrorCode.ENTITY_BARRED
    assert Claim.objects.get(pk=claim.pk).status == "draft"


def test_a_submitted_claim_is_marked_evaluating_once(bd, voucher):
    # given two submitted claims and a draft
    claim = submitted(bd)
    waiting = submitted(bd)
    other = draft(bd)
    # when the first is marked evaluating, twice, and the draft once
    first, second, of_draft = (
        claim_mark_evaluating(claim_id=claim.pk),
        claim_mark_evaluating(claim_id=claim.pk),
        claim_mark_evaluating(claim_id=other.pk),
    )
    # then only the first call moved anything, and only that claim
    assert (first, second, of_draft) == (True, False, False)
    assert [Claim.objects.get(pk=c.pk).status for c in (claim, waiting, other)] == ["evaluating", "submitted", "draft"]


def test_the_evaluation_locks_the_claims_row_and_not_the_rows_it_reads_along(bd, voucher, monkeypatch):
    # given a submitted claim, and a record of the rows each locking query names
    from django.db.models import QuerySet

    claim = submitted(bd)
    locks = []
    real = QuerySet.select_for_update

    def recording(self, *args, **kwargs):
        locks.append((self.model, kwargs.get("of", ())))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "select_for_update", recording)
    # when evaluated
    claim_evaluate(claim_id=claim.pk)
    # then the claim is locked by its own row only (``of self``): its program, entity and provider, read in the same
    # query, are shared with every other claim evaluated meanwhile, and locking them would queue those claims
    assert [of for model, of in locks if model is Claim] == [("self",)]


# --- evaluating: passing ---------------------------------------------------------------------------------------------


def test_a_passing_evaluation_holds_the_subsidy_and_starts_the_review(bd, voucher):
    # given a submitted 1,000,000 yuan local-platform claim on an 800,000 yuan voucher
    claim = submitted(bd)
    # when evaluated
    result = claim_evaluate(claim_id=claim.pk)
    # then it is in review at the first stage, under the rules in force, with 500,000 yuan held on the voucher
    claim.refresh_from_db()
    version = bd.program.versions.get()
    assert (result.status, claim.status, claim.stage_index, claim.program_version) == (
        "in_review",
        "in_review",
        0,
        version,
    )
    assert (claim.subsidy, claim.counts, claim.flags) == (500_000 * YUAN, True, [])
    voucher.account.refresh_from_db()
    assert voucher.account.pending_debits == 500_000 * YUAN
    # and the evaluation records every check, the breakdown and the subsidy
    evaluation = claim.evaluations.get()
    assert (evaluation.round, evaluation.program_version, evaluation.passed, evaluation.subsidy) == (
        1,
        version,
        True,
        500_000 * YUAN,
    )
    assert [c["check"] for c in evaluation.checks] == [
        "declaration",
        "evidence",
        "consistency",
        "vouchers",
        "delivery_window",
        "claim_window",
        "grace_period",
        "provider",
        "not_twice",
        "entity_not_barred",
        "entity_eligible",
        "related_parties",
    ]
    assert all(c["ok"] for c in evaluation.checks)
    assert {k: evaluation.breakdown[k] for k in ("eligible_cost", "subsidy", "bound_by", "version", "pro_rating")} == {
        "eligible_cost": 1_000_000 * YUAN,
        "subsidy": 500_000 * YUAN,
        "bound_by": "rate",
        "version": version.number,
        "pro_rating": None,
    }
    # and the audit trail names the system, the evaluation and the figures
    evaluate = event("claim.evaluate")
    assert (evaluate.actor, evaluate.organization, evaluate.detail) == (None, bd.entity, {"system": True})
    assert (evaluate.before, evaluate.after) == (
        {"status": "evaluating"},
        {
            "status": "in_review",
            "evaluation": evaluation.pk,
            "subsidy": 500_000 * YUAN,
            "bound_by": "rate",
            "version": version.number,
        },
    )


def test_a_claim_marked_evaluating_is_evaluated(bd, voucher):
    # given a submitted claim the task marked evaluating
    claim = submitted(bd)
    claim_mark_evaluating(claim_id=claim.pk)
    # when evaluated
    # then it is evaluated like any submitted claim
    assert claim_evaluate(claim_id=claim.pk).status == "in_review"


@pytest.mark.parametrize("status", ["draft", "in_review"])
def test_a_claim_not_waiting_for_its_evaluation_is_left_alone(bd, voucher, status):
    # given a draft, or a claim evaluated already (a second delivery of the task)
    claim = draft(bd) if status == "draft" else submitted(bd)
    if status == "in_review":
        claim_evaluate(claim_id=claim.pk)
    # when evaluated
    result = claim_evaluate(claim_id=claim.pk)
    # then nothing changes and no evaluation is added
    assert result.status == status
    assert Claim.objects.get(pk=claim.pk).status == status
    assert claim.evaluations.count() == (0 if status == "draft" else 1)


def test_a_related_party_flag_is_kept_on_the_claim(bd, voucher, monkeypatch):
    # given a buyer that declared the provider an affiliate, under rules that flag related parties
    from voucher_service.programs.rules import RelatedParties

    bd.entity.affiliates.add(bd.provider)
    claim = submitted(bd)
    real_context_for = context_for

    def flagging(claim, vouchers=None):
        ctx = real_context_for(claim, vouchers)
        ctx.rules = dataclasses.replace(ctx.rules, related_parties=RelatedParties.FLAG_FOR_REVIEW)
        return ctx

    monkeypatch.setattr("voucher_service.claims.evaluation.context_for", flagging)
    # when evaluated
    claim_evaluate(claim_id=claim.pk)
    # then it passes, flagged for the reviewers
    claim.refresh_from_db()
    assert (claim.status, claim.flags) == ("in_review", ["related_party"])


# --- evaluating: refusing ---------------------------------------------------------------------------------------------


def test_a_failing_check_refuses_the_claim_with_every_reason_and_no_ledger_row(bd, voucher):
    # given a submitted claim without the declaration and with one kind of evidence missing
    claim = draft(bd, claim_body(bd, declaration_accepted=False))
    claim.evidence.filter(kind="usage_statement").delete()
    claim_submit(actor=bd.applicant, claim=claim)
    # when evaluated
    result = claim_evaluate(claim_id=claim.pk)
    # then it is refused with both reasons, in English, and nothing is held or counted
    claim.refresh_from_db()
    assert (result.status, claim.status, claim.counts) == ("refused", "refused", False)
    assert claim.outcome_reason == (
        "The truthfulness declaration (真实性承诺书) has not been accepted.; Evidence missing: usage_statement."
    )
    assert claim.holds.count() == 0
    voucher.account.refresh_from_db()
    assert voucher.account.pending_debits == 0
    # and the evaluation keeps every check, with no breakdown and no subsidy
    evaluation = claim.evaluations.get()
    assert (evaluation.passed, evaluation.subsidy, evaluation.breakdown, len(evaluation.checks)) == (False, 0, {}, 12)
    assert [c["check"] for c in evaluation.checks if not c["ok"]] == ["declaration", "evidence"]
    assert (evaluation.round, evaluation.program_version) == (1, bd.program.versions.get())
    # and the audit trail names the failed checks
    refuse = event("claim.refuse")
    assert (refuse.actor, refuse.organization, refuse.detail) == (None, bd.entity, {"system": True})
    assert (refuse.before, refuse.after) == (
        {"status": "evaluating"},
        {"status": "refused", "evaluation": evaluation.pk, "checks": ["declaration", "evidence"]},
    )


def test_the_reasons_kept_on_the_claim_stop_at_a_thousand_characters(bd, voucher):
    # given a claim with fifty invoices of strangers (a long list of issuers)
    claim = draft(bd)
    ClaimInvoice.objects.bulk_create(
        ClaimInvoice(claim=claim, issuer_uscc=valid_uscc(), number=f"{n:020d}", issued_on=TODAY(), amount=1)
        for n in range(50)
    )
    claim_submit(actor=bd.applicant, claim=claim)
    # when evaluated
    claim_evaluate(claim_id=claim.pk)
    # then the reasons are the first 1,000 characters of them all
    claim.refresh_from_db()
    reasons = "; ".join(c["message"]["en"] for c in claim.evaluations.get().checks if not c["ok"])
    assert len(reasons) > 1000
    assert claim.outcome_reason == reasons[:1000]


def test_a_claim_meeting_no_rate_condition_is_refused_as_nothing_to_subsidise(bd, voucher):
    # given a Baoding claim that asks for neither rate
    claim = submitted(bd, claim_body(bd, conditions=()))
    # when evaluated
    claim_evaluate(claim_id=claim.pk)
    # then it is refused: the rate term is zero; the breakdown is kept, nothing is held
    claim.refresh_from_db()
    assert (claim.status, claim.outcome_reason, claim.counts) == (
        "refused",
        "Nothing to subsidise: the rate term is zero.",
        False,
    )
    evaluation = claim.evaluations.get()
    assert (evaluation.passed, evaluation.subsidy, evaluation.breakdown["bound_by"]) == (False, 0, "rate")
    assert evaluation.checks[-1] == {
        "check": "subsidy",
        "ok": False,
        "message": {"zh-hans": evaluation.checks[-1]["message"]["zh-hans"], "en": claim.outcome_reason},
    }
    assert evaluation.checks[-1]["message"]["zh-hans"] != claim.outcome_reason
    assert len(evaluation.checks) == 13
    assert claim.holds.count() == 0


def test_a_contract_another_claim_took_meanwhile_refuses_the_claim(bd, voucher, monkeypatch):
    # given two claims of one contract, the second counting it between the first's checks and its reserve
    body = claim_body(bd, amount=100_000 * YUAN)
    fresh = claim_body(bd, amount=100_000 * YUAN)
    rival = draft(bd, {**body, "invoices": fresh["invoices"], "payments": fresh["payments"]})
    claim = submitted(bd, body)
    run_checks = checks.run_checks

    def racing(ctx):
        results = run_checks(ctx)
        Claim.objects.filter(pk=rival.pk).update(counts=True)
        return results

    monkeypatch.setattr(checks, "run_checks", racing)
    # when the first is evaluated
    claim_evaluate(claim_id=claim.pk)
    # then the database's key refuses it, naming the other claim; nothing is held
    claim.refresh_from_db()
    message = f"Contract {claim.contract_number} is already subsidised by claim #{rival.pk}."
    assert (claim.status, claim.outcome_reason, claim.counts, claim.holds.count()) == ("refused", message, False, 0)
    evaluation = claim.evaluations.get()
    assert (evaluation.passed, evaluation.subsidy, evaluation.breakdown["subsidy"]) == (False, 0, 50_000 * YUAN)
    assert (len(evaluation.checks), evaluation.checks[-1]["check"], evaluation.checks[-1]["ok"]) == (
        13,
        "contract_once",
        False,
    )
    voucher.account.refresh_from_db()
    assert voucher.account.pending_debits == 0


# --- the context, the conditions the records decide, and the subsidy ------------------------------------------------


def test_the_context_is_the_rules_and_the_day_of_submission(bd, voucher):
    # given a claim submitted three days ago
    claim = submitted(bd)
    claim.submitted_at = timezone.now() - timedelta(days=3)
    # when its context is read
    ctx = context_for(claim)
    # then it is filed on that day, under the version then in force, redeeming the entity's voucher
    version = bd.program.versions.get()
    assert (ctx.claim, ctx.version, ctx.rules, ctx.filed_on) == (
        claim,
        version,
        version.parsed(),
        timezone.localtime(claim.submitted_at).date(),
    )
    assert ctx.filed_on == TODAY() - timedelta(days=3)
    assert ([v.pk for v in ctx.vouchers], ctx.flags) == ([voucher.pk], [])


def test_a_draft_is_read_as_filed_today_and_with_the_vouchers_given(bd, voucher):
    # given a draft, never submitted
    claim = draft(bd)
    # when its context is read, with no vouchers given or with an empty list
    # then it is filed today; the vouchers are the ones selected, or the ones given
    assert (context_for(claim).filed_on, [v.pk for v in context_for(claim).vouchers]) == (TODAY(), [voucher.pk])
    assert context_for(claim, []).vouchers == []


def test_the_rules_in_force_at_submission_govern_a_claim_submitted_before_a_change(bd, voucher):
    # given a claim submitted yesterday, and a new version of the rules published today
    from voucher_service.programs.services import program_update

    claim = submitted(bd)
    claim.submitted_at = timezone.now() - timedelta(days=1)
    admin = make_user(bd.program.issuing_agency, "program_admin", username="bd_admin")
    program_update(actor=admin, program=bd.program, rules={"claim_grace_days": 30})
    first, second = bd.program.versions.order_by("number")
    assert second.published_at is not None
    assert second.published_at > claim.submitted_at
    Claim.objects.filter(pk=claim.pk).update(submitted_at=claim.submitted_at)
    # when its context is read
    # then the first version governs
    assert context_for(claim).version == first


def with_rules(ctx, **changes):
    ctx.rules = dataclasses.replace(ctx.rules, **changes)
    return ctx


def settled_rule(code: str) -> RateRule:
    """A 50 % rate rule whose condition the records decide: the entity settled in the claim's fiscal year."""
    return RateRule(Condition(code, "落户当年", ConditionCheck.SETTLED_IN_FISCAL_YEAR), rate=Decimal("0.5"))


def test_conditions_the_records_decide_false_are_dropped(bd, voucher):
    # given rules with a reviewer-checked condition and two that the entity's settling date decides
    claim = draft(bd)
    claim.conditions = ["unknown", "major_project_lead", "settled", "settled_too"]
    ctx = context_for(claim)
    reviewer = ctx.rules.rate_rules[0]
    with_rules(ctx, rate_rules=(reviewer, settled_rule("settled"), settled_rule("settled_too")))
    # when the entity settled in another year, or in the voucher's year
    claim.entity.settled_on = None
    dropped = records_conditions(ctx)
    claim.entity.settled_on = voucher.valid_from.replace(month=1, day=1)
    kept = records_conditions(ctx)
    # then an unknown code is ignored, the reviewer's is kept, and the settled ones only when the records say so
    assert dropped == ["major_project_lead"]
    assert kept == ["major_project_lead", "settled", "settled_too"]


def test_the_subsidy_is_computed_from_the_locked_totals_and_accounts(bd, voucher):
    # given a submitted claim, its rows locked
    claim = submitted(bd)
    ctx = context_for(claim)
    locked = lock_for(claim, ctx.rules, ctx.vouchers, voucher.fiscal_year)
    # when the subsidy is computed on the local-platform condition
    breakdown = compute_for(ctx, locked, ["local_platform"])
    # then every term is read from them: the voucher's 800,000, the entity's 1,000,000, the year's 10,000,000
    assert breakdown.terms == {
        "rate": 500_000 * YUAN,
        "voucher_balance": 800_000 * YUAN,
        "entity_cap": 1_000_000 * YUAN,
        "program_budget": 10_000_000 * YUAN,
    }
    assert (breakdown.eligible_cost, breakdown.conditions, breakdown.version) == (
        1_000_000 * YUAN,
        ["local_platform"],
        ctx.version.number,
    )
    assert (breakdown.voucher_allocation, breakdown.pro_rating) == ([(voucher.pk, 500_000 * YUAN)], None)


def test_a_pro_rated_subsidy_records_the_days(bd, voucher):
    # given a claim of which 16 of 61 days lie inside the voucher's validity, under pro-rating
    claim = submitted(bd)
    Voucher.objects.filter(pk=voucher.pk).update(valid_from=claim.delivery_starts_on + timedelta(days=45))
    ctx = with_rules(context_for(claim), pro_rating=ProRating.DAYS_IN_WINDOW)
    locked = lock_for(claim, ctx.rules, ctx.vouchers, voucher.fiscal_year)
    # when the subsidy is computed
    breakdown = compute_for(ctx, locked, ["major_project_lead"])
    # then the cost is pro-rated (262,295.08 yuan), 60 % of it given, and the days recorded
    assert (breakdown.eligible_cost, breakdown.subsidy) == (26_229_508, 15_737_704)
    assert breakdown.pro_rating == {"days_inside": 16, "days": 61}


@pytest.fixture
def capped_rule(bd, voucher):
    """Baoding's local-platform rule with a 300,000 yuan cap (as read), of which 299,900 were received."""
    claim = submitted(bd)
    ctx = context_for(claim)
    capped = dataclasses.replace(ctx.rules.rate_rules[1], cap=300_000 * YUAN)
    with_rules(ctx, rate_rules=(ctx.rules.rate_rules[0], capped))
    locked = lock_for(claim, ctx.rules, ctx.vouchers, voucher.fiscal_year)
    locked.rule_totals["local_platform"].used = 299_900 * YUAN
    return ctx, locked


def test_what_was_received_under_a_rule_limits_it(capped_rule):
    # given a rule of which all but 100 yuan of its cap was received before
    ctx, locked = capped_rule
    # when the subsidy is computed
    breakdown = compute_for(ctx, locked, ["local_platform"])
    # then the rule gives what is left of its cap
    assert [(r.code, r.cap_left, r.amount) for r in breakdown.rules] == [("local_platform", 100 * YUAN, 100 * YUAN)]


def test_a_program_without_published_rules_refuses_to_give_a_context(bd, voucher, monkeypatch):
    # given a draft claim, and no version of its program in force (only behind the services' back)
    claim = draft(bd)
    monkeypatch.setattr("voucher_service.claims.evaluation.program_version_in_force", lambda program, at: None)
    # when its context is read
    with translation.override("en"), pytest.raises(ClaimError) as refusal:
        context_for(claim)
    # then it is refused: there are no rules to evaluate it by
    assert (refusal.value.code, str(refusal.value.message)) == (
        ClaimErrorCode.INVALID_STATE,
        "The program has no published rules.",
    )


def test_a_hold_the_ledger_refuses_refuses_the_claim_with_the_ledgers_message(bd, voucher, monkeypatch):
    # given a ledger that refuses the hold (it cannot, the accounts being locked: this is the defect's path)
    from ledger.errors import LedgerError, LedgerErrorCode

    claim = submitted(bd)

    def refusing(*args, **kwargs):
        raise LedgerError(LedgerErrorCode.LIMIT_EXCEEDED, "Insufficient available balance on account 7.")

    monkeypatch.setattr("voucher_service.claims.evaluation.reserve", refusing)
    # when evaluated
    claim_evaluate(claim_id=claim.pk)
    # then the claim is refused with the ledger's message, as a failed vouchers check
    claim.refresh_from_db()
    assert (claim.status, claim.outcome_reason) == ("refused", "Insufficient available balance on account 7.")
    evaluation = claim.evaluations.get()
    assert evaluation.checks[-1] == {
        "check": "vouchers",
        "ok": False,
        "message": {
            "zh-hans": "Insufficient available balance on account 7.",
            "en": "Insufficient available balance on account 7.",
        },
    }
    assert (evaluation.passed, evaluation.subsidy, len(evaluation.checks)) == (False, 0, 13)
