"""Who is told of an audit event: the people who must act next, and the people whose matter it is (waiting).

* **act**: members of the program's agencies with the role the next step needs (the reviewers who decide an
  application, the role of the claim's next review stage, the reviewers who resolve an objection, finance who
  pay), never anyone the separation of duties bars from that step (a member of the claiming entity or of the
  provider, the submitter, someone who decided another stage of the claim);
* **wait**: the applicants of the entity the application, voucher or claim belongs to.

Nobody is told of their own act (the event's actor), and inactive users and organisations are told nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from accounts.models import AuditEvent, Role, User
from ledger.money import fen_to_yuan
from voucher_service.claims.models import Claim, ClaimStageDecider, ClaimStatus
from voucher_service.claims.permissions import PAY, RESOLVE_OBJECTIONS, program_agency_ids
from voucher_service.notifications.messages import Kind
from voucher_service.vouchers.models import Voucher, VoucherApplication
from voucher_service.vouchers.permissions import DECIDE_APPLICATIONS

ACT, WAIT = "act", "wait"


@dataclass
class Derived:
    """What an event tells whom: one notification per recipient, about one target."""

    target_type: str
    target_id: str
    params: dict[str, Any]
    deliveries: dict[int, tuple[str, str]] = field(default_factory=dict)  # user id -> (kind, audience)

    def tell(self, users: Iterable[int], kind: str, audience: str) -> None:
        for user_id in users:
            # Someone who must act is told so, even if they are also among those waiting.
            if user_id not in self.deliveries or audience == ACT:
                self.deliveries[user_id] = (kind, audience)


def members(organization_ids: Iterable[int], roles: Iterable[str]) -> set[int]:
    return set(
        User.objects.filter(
            is_active=True,
            memberships__organization_id__in=list(organization_ids),
            memberships__role__in=list(roles),
            memberships__organization__is_active=True,
        ).values_list("pk", flat=True)
    )


def entity_applicants(entity_id: int) -> set[int]:
    return members([entity_id], [Role.APPLICANT])


def _independent_agency_members(claim: Claim, roles: Iterable[str]) -> set[int]:
    """Members of the program's agencies with ``roles`` who may act on ``claim``: not of the entity or provider,
    not its submitter."""
    barred = members([claim.entity_id, claim.provider_id], [r.value for r in Role])
    barred.add(claim.submitted_by_id or 0)
    return members(program_agency_ids(claim.program), roles) - barred


def _claim_params(claim: Claim, **extra: Any) -> dict[str, Any]:
    amount = claim.approved_amount
    return {
        "claim": claim.pk,
        "entity": claim.entity.name,
        "program": claim.program.name,
        "amount": fen_to_yuan(amount) if amount is not None else "",
        **extra,
    }


def _stage_name(claim: Claim, index: int) -> tuple[str, str]:
    """(name, role) of review stage ``index`` of the claim's rules."""
    if claim.program_version is None:
        return "", ""
    stages = claim.program_version.parsed().review_stages
    if not 0 <= index < len(stages):
        return "", ""
    return stages[index].name, stages[index].role


def _claim_stage_ahead(derived: Derived, claim: Claim, index: int) -> None:
    """Stage ``index`` is next: its role decides (not those pinned to another stage), the entity waits."""
    name, role = _stage_name(claim, index)
    derived.params["stage"] = name
    pinned_elsewhere = set(
        ClaimStageDecider.objects.filter(claim=claim).exclude(stage_index=index).values_list("user_id", flat=True)
    )
    if role:
        derived.tell(_independent_agency_members(claim, [role]) - pinned_elsewhere, Kind.CLAIM_TO_DECIDE, ACT)


def _claim_payable(derived: Derived, claim: Claim) -> None:
    derived.tell(_independent_agency_members(claim, PAY), Kind.CLAIM_TO_PAY, ACT)
    derived.tell(entity_applicants(claim.entity_id), Kind.CLAIM_PAYABLE, WAIT)


def _claim_event(event: AuditEvent) -> Derived | None:
    claim = Claim.objects.select_related("program", "entity", "program_version").filter(pk=event.target_id).first()
    if claim is None:
        return None
    after, detail = event.after or {}, event.detail or {}
    derived = Derived("claims.claim", str(claim.pk), _claim_params(claim, reason=detail.get("reason") or ""))
    waiting = entity_applicants(claim.entity_id)
    action = event.action.removeprefix("claim.")
    status = after.get("status")
    if action == "submit":
        derived.tell(waiting, Kind.CLAIM_SUBMITTED, WAIT)
    elif action == "refuse":
        derived.tell(waiting, Kind.CLAIM_REFUSED, WAIT)
    elif action in ("evaluate", "approve") and status == ClaimStatus.IN_REVIEW:
        _claim_stage_ahead(derived, claim, int(after.get("stage") or 0))
        derived.params["decided"] = detail.get("stage") or ""
        derived.tell(waiting, Kind.CLAIM_STAGE_APPROVED if action == "approve" else Kind.CLAIM_IN_REVIEW, WAIT)
    elif action == "approve" and status == ClaimStatus.IN_NOTICE:
        derived.params["until"] = claim.notice_ends_on.isoformat() if claim.notice_ends_on else ""
        derived.tell(waiting, Kind.CLAIM_IN_NOTICE, WAIT)
    elif (action == "approve" and status == ClaimStatus.PAYABLE) or action == "payable":
        _claim_payable(derived, claim)
    elif action in ("approve", "reject") and status == ClaimStatus.REJECTED:
        derived.tell(waiting, Kind.CLAIM_REJECTED, WAIT)
    elif action == "return":
        derived.tell(waiting, Kind.CLAIM_RETURNED, WAIT)
    elif action == "objection":
        derived.params["reason"] = ""  # an objection's text is for the reviewers' page, not for a mailbox
        derived.tell(_independent_agency_members(claim, RESOLVE_OBJECTIONS), Kind.CLAIM_OBJECTION, ACT)
        derived.tell(waiting, Kind.CLAIM_OBJECTION, WAIT)
    elif action in ("objection_upheld", "objection_dismissed"):
        kind = Kind.CLAIM_OBJECTION_UPHELD if action == "objection_upheld" else Kind.CLAIM_OBJECTION_DISMISSED
        derived.tell(waiting, kind, WAIT)
    elif action == "pay":
        derived.params["amount"] = fen_to_yuan(int(after.get("paid_amount") or 0))
        derived.tell(waiting, Kind.CLAIM_PAID, WAIT)
    elif action == "clawback":
        derived.params["amount"] = fen_to_yuan(int(detail.get("amount") or 0))
        derived.params["reason"] = detail.get("reason") or ""
        derived.tell(waiting, Kind.CLAIM_CLAWED_BACK, WAIT)
    return derived


# What a message about an application says, and who is told: the columns read, not three whole rows (this runs for
# every submission and decision).
APPLICATION_FIELDS = (
    "pk",
    "entity_id",
    "submitted_by_id",
    "approved_amount",
    "requested_amount",
    "rejection_reason",
    "entity__name",
    "program__name",
    "program__issuing_agency_id",
)


def _application_event(event: AuditEvent) -> Derived | None:
    application = VoucherApplication.objects.filter(pk=event.target_id).values(*APPLICATION_FIELDS).first()
    if application is None:
        return None
    amount = application["approved_amount"] or application["requested_amount"]
    derived = Derived(
        "vouchers.voucherapplication",
        str(application["pk"]),
        {
            "application": application["pk"],
            "entity": application["entity__name"],
            "program": application["program__name"],
            "amount": fen_to_yuan(amount),
            "reason": application["rejection_reason"],
        },
    )
    entity_id = application["entity_id"]
    if event.action == "voucher_application.submit":
        deciders = members([application["program__issuing_agency_id"]], DECIDE_APPLICATIONS)
        barred = members([entity_id], [r.value for r in Role]) | {application["submitted_by_id"]}
        derived.tell(deciders - barred, Kind.APPLICATION_TO_DECIDE, ACT)
    elif event.action == "voucher_application.approve":
        derived.tell(entity_applicants(entity_id), Kind.APPLICATION_APPROVED, WAIT)
    else:
        derived.tell(entity_applicants(entity_id), Kind.APPLICATION_REJECTED, WAIT)
    return derived


VOUCHER_KINDS = {
    "voucher.issue": Kind.VOUCHER_ISSUED,
    "voucher.revoked": Kind.VOUCHER_REVOKED,
    "voucher.expired": Kind.VOUCHER_EXPIRED,
}


def _voucher_event(event: AuditEvent) -> Derived | None:
    voucher = Voucher.objects.select_related("program", "entity").filter(pk=event.target_id).first()
    if voucher is None:
        return None
    after = event.after or {}
    derived = Derived(
        "vouchers.voucher",
        str(voucher.pk),
        {
            "serial": voucher.serial,
            "entity": voucher.entity.name,
            "program": voucher.program.name,
            "amount": fen_to_yuan(voucher.face_value),
            "until": voucher.valid_until.isoformat(),
            "reason": after.get("reason") or "",
        },
    )
    derived.tell(entity_applicants(voucher.entity_id), VOUCHER_KINDS[event.action], WAIT)
    return derived


CLAIM_ACTIONS = (
    "claim.submit",
    "claim.refuse",
    "claim.evaluate",
    "claim.approve",
    "claim.reject",
    "claim.return",
    "claim.objection",
    "claim.objection_upheld",
    "claim.objection_dismissed",
    "claim.payable",
    "claim.pay",
    "claim.clawback",
)
APPLICATION_ACTIONS = ("voucher_application.submit", "voucher_application.approve", "voucher_application.reject")

HANDLERS: dict[str, Callable[[AuditEvent], Derived | None]] = {
    **dict.fromkeys(CLAIM_ACTIONS, _claim_event),
    **dict.fromkeys(APPLICATION_ACTIONS, _application_event),
    **dict.fromkeys(VOUCHER_KINDS, _voucher_event),
}
NOTIFYING_ACTIONS = frozenset(HANDLERS)


def derive(event: AuditEvent) -> Derived | None:
    """The notifications ``event`` calls for (None: it tells nobody), without its actor."""
    handler = HANDLERS.get(event.action)
    derived = handler(event) if handler else None
    if derived is not None and event.actor_id is not None:
        derived.deliveries.pop(event.actor_id, None)
    return derived
