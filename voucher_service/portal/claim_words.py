"""A claim in plain words for its pages: what it awaits and from whom, its evaluation's breakdown (every term and
the one that bound), and its history. Presentation of what the claims selectors return, deciding nothing."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from ledger.money import fen_to_yuan
from voucher_service.claims.selectors import Awaiting
from voucher_service.claims.subsidy import TERMS


def awaiting_in_words(awaiting: Awaiting | None, *, applicant: bool = False) -> str:
    """ "Awaiting 复审 by 保定市数据局 (Reviewer)", "Awaiting correction and resubmission by you", "In 公示 until …"."""
    if awaiting is None:
        return ""
    if awaiting.party == "public":
        return _("In public notice (公示) until %(day)s: anyone may object.") % {"day": awaiting.until}
    if awaiting.party == "applicant" and applicant:
        return _("Awaiting %(what)s by you") % {"what": awaiting.what}
    return _("Awaiting %(what)s by %(who)s") % {"what": awaiting.what, "who": awaiting.who}


def _yuan(fen: Any) -> str:
    return fen_to_yuan(int(fen)) if fen is not None else "—"


def _percent(rate: Any) -> str:
    try:
        return f"{(Decimal(str(rate)) * 100).normalize():f}%"
    except InvalidOperation:
        return str(rate)


def term_labels() -> dict[str, str]:
    return {
        "rate": _("The program's rate rules on the eligible cost"),
        "voucher_balance": _("What the claim's vouchers have available"),
        "entity_cap": _("What the organisation may still receive this year"),
        "program_budget": _("What the program's yearly budget still allows"),
    }


def _rule_note(note: str) -> str:
    if note == "cap":
        return _("limited by what is left of the rule's own cap")
    if note == "once_received":
        return _("pays once per organisation, already received")
    return ""


def breakdown_in_words(evaluation: Any) -> dict[str, Any] | None:
    """The evaluation's breakdown as rows to show, or None when it computed no subsidy (refused at a check)."""
    breakdown = evaluation.breakdown or {}
    if not breakdown:
        return None
    descriptions = {r.condition.code: r.condition.description for r in evaluation.program_version.parsed().rate_rules}
    labels = term_labels()
    bound_by = breakdown.get("bound_by", "")
    terms = breakdown.get("terms", {})
    pro_rating = breakdown.get("pro_rating")
    return {
        "eligible_cost": _yuan(breakdown.get("eligible_cost")),
        "pro_rating": (
            _("%(inside)d of the delivery's %(days)d days count (pro-rated by days).")
            % {"inside": pro_rating["days_inside"], "days": pro_rating["days"]}
            if pro_rating
            else ""
        ),
        "rules": [
            {
                "name": descriptions.get(rule["code"], rule["code"]),
                "rate": _percent(rule["rate"]),
                "award": _yuan(rule["award"]),
                "cap_left": _yuan(rule["cap_left"]) if rule.get("cap_left") is not None else _("no cap"),
                "amount": _yuan(rule["amount"]),
                "note": _rule_note(rule.get("note", "")),
            }
            for rule in breakdown.get("rules", [])
        ],
        "combination": (
            _("Only the most favourable rule applies.")
            if breakdown.get("combination") == "highest_only"
            else _("The rules that apply add up.")
        ),
        "terms": [
            {
                "code": code,
                "label": labels[code],
                "value": _yuan(terms[code]) if terms.get(code) is not None else _("no limit"),
                "bound": code == bound_by,
            }
            for code in TERMS
        ],
        "subsidy": _yuan(breakdown.get("subsidy", 0)),
        "bound_by": labels.get(bound_by, bound_by),
        "version": breakdown.get("version"),
    }


def _kind(code: str) -> str:
    from voucher_service.portal.forms import EVIDENCE_KINDS

    return str(next((label for kind, label in EVIDENCE_KINDS.items() if kind.value == code), code))


def _who(event: Any) -> str:
    return event.actor.username if event.actor is not None else _("the service")


def _event_words(event: Any) -> str:
    after, detail, who = event.after or {}, event.detail or {}, _who(event)
    stage, reason = detail.get("stage", ""), detail.get("reason", "")
    action = event.action
    if action == "claim.create":
        return _("%(who)s created the draft.") % {"who": who}
    if action == "claim.update":
        return _("%(who)s changed the claim.") % {"who": who}
    if action == "claim.evidence":
        return _("%(who)s uploaded evidence (%(kind)s).") % {"who": who, "kind": _kind(after.get("kind", ""))}
    if action == "claim.submit":
        return _("%(who)s submitted the claim (round %(round)s).") % {"who": who, "round": after.get("round", "")}
    if action == "claim.evaluate":
        return _("The automatic checks passed: a subsidy of %(amount)s yuan, bound by: %(term)s.") % {
            "amount": _yuan(after.get("subsidy")),
            "term": term_labels().get(after.get("bound_by", ""), after.get("bound_by", "")),
        }
    if action == "claim.refuse":
        return _("The automatic checks refused the claim.")
    if action == "claim.approve":
        if detail.get("amount") is not None:
            return _("Stage %(stage)s approved %(amount)s yuan: %(reason)s") % {
                "stage": stage,
                "amount": _yuan(detail["amount"]),
                "reason": reason,
            }
        return _("Stage %(stage)s approved.") % {"stage": stage}
    if action == "claim.reject":
        return _("Stage %(stage)s rejected the claim: %(reason)s") % {"stage": stage, "reason": reason}
    if action == "claim.return":
        return _("Stage %(stage)s returned the claim for correction: %(reason)s") % {"stage": stage, "reason": reason}
    if action == "claim.withdraw":
        return _("%(who)s withdrew the claim.") % {"who": who}
    return _other_words(action, after)


def _other_words(action: str, after: dict[str, Any]) -> str:
    if action == "claim.objection":
        return _("An objection was filed during the public notice.")
    if action.startswith("claim.objection_"):
        return _("An objection was resolved.")
    if action == "claim.payable":
        return _("The public notice ended without an upheld objection: the claim is payable.")
    if action == "claim.payout_request":
        return _("Finance recorded the payout of %(amount)s yuan.") % {"amount": _yuan(after.get("amount"))}
    if action == "claim.pay":
        return _("%(amount)s yuan were paid out.") % {"amount": _yuan(after.get("paid_amount"))}
    if action == "claim.clawback":
        return _("Money was clawed back from the claim.")
    if action == "claim.recovery":
        return _("Clawed-back money was recovered.")
    return action


def history_in_words(events: Iterable[Any]) -> list[dict[str, Any]]:
    """The claim's audit trail, one sentence per event, oldest first."""
    return [{"at": event.occurred_at, "text": _event_words(event)} for event in events]
