"""What each kind of notification says. Written when shown (in the reader's language), from the facts stored
with it (``Notification.params``: names, amounts in yuan, dates, reasons)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class Kind:
    APPLICATION_TO_DECIDE = "application_to_decide"
    APPLICATION_APPROVED = "application_approved"
    APPLICATION_REJECTED = "application_rejected"
    VOUCHER_ISSUED = "voucher_issued"
    VOUCHER_REVOKED = "voucher_revoked"
    VOUCHER_EXPIRED = "voucher_expired"
    CLAIM_SUBMITTED = "claim_submitted"
    CLAIM_REFUSED = "claim_refused"
    CLAIM_IN_REVIEW = "claim_in_review"
    CLAIM_TO_DECIDE = "claim_to_decide"
    CLAIM_STAGE_APPROVED = "claim_stage_approved"
    CLAIM_REJECTED = "claim_rejected"
    CLAIM_RETURNED = "claim_returned"
    CLAIM_IN_NOTICE = "claim_in_notice"
    CLAIM_OBJECTION = "claim_objection"
    CLAIM_OBJECTION_UPHELD = "claim_objection_upheld"
    CLAIM_OBJECTION_DISMISSED = "claim_objection_dismissed"
    CLAIM_PAYABLE = "claim_payable"
    CLAIM_TO_PAY = "claim_to_pay"
    CLAIM_PAID = "claim_paid"
    CLAIM_CLAWED_BACK = "claim_clawed_back"
    VOUCHER_EXPIRING = "voucher_expiring"
    CLAIM_WINDOW_CLOSING = "claim_window_closing"


TITLES: dict[str, Any] = {
    Kind.APPLICATION_TO_DECIDE: _("%(entity)s applied for a voucher of %(amount)s yuan under %(program)s: decide it"),
    Kind.APPLICATION_APPROVED: _("Your application under %(program)s was approved (%(amount)s yuan)"),
    Kind.APPLICATION_REJECTED: _("Your application under %(program)s was rejected"),
    Kind.VOUCHER_ISSUED: _("Voucher %(serial)s of %(amount)s yuan was issued to %(entity)s"),
    Kind.VOUCHER_REVOKED: _("Voucher %(serial)s was revoked"),
    Kind.VOUCHER_EXPIRED: _("Voucher %(serial)s has expired"),
    Kind.CLAIM_SUBMITTED: _("Claim #%(claim)s of %(entity)s was submitted"),
    Kind.CLAIM_REFUSED: _("Claim #%(claim)s did not pass the automatic checks"),
    Kind.CLAIM_IN_REVIEW: _("Claim #%(claim)s passed the automatic checks and awaits stage %(stage)s"),
    Kind.CLAIM_TO_DECIDE: _("Claim #%(claim)s of %(entity)s awaits your decision at stage %(stage)s"),
    Kind.CLAIM_STAGE_APPROVED: _("Claim #%(claim)s was approved at stage %(decided)s and awaits stage %(stage)s"),
    Kind.CLAIM_REJECTED: _("Claim #%(claim)s was rejected"),
    Kind.CLAIM_RETURNED: _("Claim #%(claim)s was returned for correction"),
    Kind.CLAIM_IN_NOTICE: _("Claim #%(claim)s is under public notice until %(until)s"),
    Kind.CLAIM_OBJECTION: _("An objection was filed against claim #%(claim)s during its public notice"),
    Kind.CLAIM_OBJECTION_UPHELD: _("The objection to claim #%(claim)s was upheld"),
    Kind.CLAIM_OBJECTION_DISMISSED: _("The objection to claim #%(claim)s was dismissed; the notice goes on"),
    Kind.CLAIM_PAYABLE: _("Claim #%(claim)s is payable (%(amount)s yuan); finance records the payout"),
    Kind.CLAIM_TO_PAY: _("Claim #%(claim)s of %(entity)s is payable (%(amount)s yuan): record the payout"),
    Kind.CLAIM_PAID: _("Claim #%(claim)s was paid: %(amount)s yuan"),
    Kind.CLAIM_CLAWED_BACK: _("%(amount)s yuan of claim #%(claim)s was clawed back"),
    Kind.VOUCHER_EXPIRING: _("Voucher %(serial)s expires on %(until)s with %(amount)s yuan left"),
    Kind.CLAIM_WINDOW_CLOSING: _("The claim window of %(program)s closes on %(until)s"),
}


def title(kind: str, params: dict[str, Any]) -> str:
    template = TITLES.get(kind)
    if template is None:
        return kind
    try:
        return str(template) % _Facts(params)
    except (TypeError, ValueError):
        return str(template)


class _Facts(dict):
    """A fact missing from an older notification reads as empty rather than breaking the page."""

    def __missing__(self, key: str) -> str:
        return ""


def detail(params: dict[str, Any]) -> str:
    """The reason a person gave (a rejection, a return: what to fix), if any."""
    reason = params.get("reason") or ""
    return str(_("Reason: %(reason)s") % {"reason": reason}) if reason else ""
