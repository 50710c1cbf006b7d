"""Each step tells the people who must act next and the people waiting, and nobody else."""

from __future__ import annotations

import pytest

from accounts.models import AuditEvent
from tests.claims import approve_all, confirmations, decide, issue_voucher, submitted
from tests.factories import make_user
from voucher_service.notifications.models import Notification
from voucher_service.notifications.services import notifications_sweep
from voucher_service.vouchers.services import application_approve, application_reject, application_submit

pytestmark = pytest.mark.django_db


def told(event_action: str) -> dict[str, tuple[str, str]]:
    """username -> (kind, audience) of the notifications of the newest event with this action."""
    event = AuditEvent.objects.filter(action=event_action).latest("pk")
    return {n.recipient.username: (n.kind, n.audience) for n in Notification.objects.filter(event=event)}


def test_an_application_tells_the_reviewers_of_the_issuing_agency_and_nobody_else(cast, program, entity):
    # given
    # when an applicant applies
    application_submit(actor=cast["applicant"], program=program, entity=entity, amount=10_000, purpose="训练")
    notifications_sweep()
    # then the reviewers must decide; the applicant (who acted), finance, the auditor and the outsider hear nothing
    assert told("voucher_application.submit") == {
        "nx_reviewer": ("application_to_decide", "act"),
        "nx_reviewer2": ("application_to_decide", "act"),
    }


def test_a_decision_tells_the_entitys_applicants_who_wait(cast, program, entity):
    # given two applications of the entity, and a second applicant of it
    colleague = make_user(entity, "applicant", username="yc_colleague")
    first = application_submit(actor=cast["applicant"], program=program, entity=entity, amount=10_000, purpose="训练")
    second = application_submit(actor=cast["applicant"], program=program, entity=entity, amount=5_000, purpose="推理")
    # when one is approved and the other rejected
    application_approve(actor=cast["reviewer"], application=first)
    application_reject(actor=cast["second_reviewer"], application=second, reason="材料不全")
    notifications_sweep()
    # then both applicants of the entity are told, the deciders and the outsider are not
    assert told("voucher_application.approve") == {
        "yc_applicant": ("application_approved", "wait"),
        colleague.username: ("application_approved", "wait"),
    }
    assert told("voucher_application.reject") == {
        "yc_applicant": ("application_rejected", "wait"),
        colleague.username: ("application_rejected", "wait"),
    }
    rejected = Notification.objects.get(recipient=cast["applicant"], kind="application_rejected")
    assert rejected.params["reason"] == "材料不全"


def test_the_issued_voucher_written_in_bulk_is_told_by_the_sweeper(
    cast, program, entity, django_capture_on_commit_callbacks
):
    # given an approved application whose voucher was issued (its audit event is bulk-inserted: no signal)
    application = application_submit(
        actor=cast["applicant"], program=program, entity=entity, amount=10_000, purpose="训练"
    )
    with django_capture_on_commit_callbacks(execute=True):
        application_approve(actor=cast["reviewer"], application=application)
    assert AuditEvent.objects.filter(action="voucher.issue").exists()
    # when the sweeper runs
    notifications_sweep()
    # then the entity's applicant is told of the voucher
    assert told("voucher.issue") == {"yc_applicant": ("voucher_issued", "wait")}


def test_each_review_stage_tells_the_role_that_decides_next(bd, django_capture_on_commit_callbacks):
    # given a claim that passed its automatic checks
    issue_voucher(bd.program, bd.entity, 1_000_000 * 100)
    claim = submitted(bd, django_capture_on_commit_callbacks)
    notifications_sweep()
    # then 初审 is for the reviewers (not finance), and the applicant waits
    assert told("claim.evaluate") == {
        "bd_reviewer": ("claim_to_decide", "act"),
        "bd_reviewer2": ("claim_to_decide", "act"),
        "bd_applicant": ("claim_in_review", "wait"),
    }
    # when the first reviewer approves 初审
    assert decide(bd.reviewer, claim, conditions=confirmations(claim)).status_code == 200
    notifications_sweep()
    # then 复审 is for the other reviewer only (the first one decided a stage), and the applicant waits
    assert told("claim.approve") == {
        "bd_reviewer2": ("claim_to_decide", "act"),
        "bd_applicant": ("claim_stage_approved", "wait"),
    }
    # when the second reviewer approves 复审
    assert decide(bd.reviewer2, claim).status_code == 200
    notifications_sweep()
    # then 财政 is for finance
    assert told("claim.approve") == {
        "bd_finance": ("claim_to_decide", "act"),
        "bd_applicant": ("claim_stage_approved", "wait"),
    }
    # when finance approves the last stage
    assert decide(bd.finance, claim).status_code == 200
    notifications_sweep()
    # then the applicant is told of the public notice, and no agency user has anything to do
    assert told("claim.approve") == {"bd_applicant": ("claim_in_notice", "wait")}


def test_a_returned_claim_tells_the_applicant_what_to_fix(bd, django_capture_on_commit_callbacks):
    # given a claim in review
    issue_voucher(bd.program, bd.entity, 1_000_000 * 100)
    claim = submitted(bd, django_capture_on_commit_callbacks)
    # when the reviewer returns it
    assert decide(bd.reviewer, claim, "return", reason="发票不清晰").status_code == 200
    notifications_sweep()
    # then
    assert told("claim.return") == {"bd_applicant": ("claim_returned", "wait")}
    assert Notification.objects.get(kind="claim_returned").params["reason"] == "发票不清晰"


def test_an_objection_tells_the_reviewers_and_the_applicant_and_payable_tells_finance(
    bd, django_capture_on_commit_callbacks
):
    # given a claim under public notice
    from datetime import timedelta

    from voucher_service.claims.notice import notices_close, objection_file, objection_resolve

    issue_voucher(bd.program, bd.entity, 1_000_000 * 100)
    claim = approve_all(bd, submitted(bd, django_capture_on_commit_callbacks))
    # when someone objects
    objection = objection_file(claim=claim, reason="虚假合同", contact="13800000000")
    notifications_sweep()
    # then the reviewers must resolve it, the applicant waits, finance has nothing to do yet
    assert told("claim.objection") == {
        "bd_reviewer": ("claim_objection", "act"),
        "bd_reviewer2": ("claim_objection", "act"),
        "bd_applicant": ("claim_objection", "wait"),
    }
    # when a reviewer dismisses it and the notice ends
    objection_resolve(actor=bd.reviewer, objection=objection, outcome="dismissed", reason="核实无误")
    claim.refresh_from_db()
    notices_close(today=claim.notice_ends_on + timedelta(days=1))
    notifications_sweep()
    # then the applicant hears of the dismissal, and finance must record the payout
    assert told("claim.objection_dismissed") == {"bd_applicant": ("claim_objection_dismissed", "wait")}
    assert told("claim.payable") == {
        "bd_finance": ("claim_to_pay", "act"),
        "bd_applicant": ("claim_payable", "wait"),
    }


def test_payment_and_clawback_tell_the_entity(bd_mail, django_capture_on_commit_callbacks):
    # given a claim approved at every stage
    from django.core import mail

    from tests.claims import pay
    from voucher_service.claims.payout import clawback_record

    bd = bd_mail
    issue_voucher(bd.program, bd.entity, 1_000_000 * 100)
    claim = approve_all(bd, submitted(bd, django_capture_on_commit_callbacks))
    # when finance pays it, and later claws part of it back
    assert pay(bd, claim, django_capture_on_commit_callbacks).status_code in (200, 202)
    claim.refresh_from_db()
    clawback_record(actor=bd.finance, claim=claim, reason_code="audit_finding", amount=100 * 100, note="审计发现")
    mail.outbox.clear()
    notifications_sweep()
    # then the applicant is told of both, with the amounts, by email too
    assert told("claim.pay") == {"bd_applicant": ("claim_paid", "wait")}
    assert told("claim.clawback") == {"bd_applicant": ("claim_clawed_back", "wait")}
    paid = Notification.objects.get(kind="claim_paid")
    assert paid.params["amount"] == f"{claim.paid_amount // 100}.{claim.paid_amount % 100:02d}"
    assert Notification.objects.get(kind="claim_clawed_back").params["amount"] == "100.00"
    subjects = [m.subject for m in mail.outbox if m.to == ["bd_applicant@example.cn"]]
    assert any("100.00" in s for s in subjects)


def test_a_revoked_voucher_tells_the_entity_with_the_reason(cast, program, entity):
    # given a voucher of the entity
    from voucher_service.vouchers.services import voucher_revoke

    voucher = issue_voucher(program, entity, 10_000)
    # when the program administrator revokes it
    voucher_revoke(actor=cast["program_admin"], voucher=voucher, reason="重复发放")
    notifications_sweep()
    # then
    assert told("voucher.revoked") == {"yc_applicant": ("voucher_revoked", "wait")}
    assert Notification.objects.get(kind="voucher_revoked").params["reason"] == "重复发放"
