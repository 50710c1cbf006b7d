"""The automatic checks of a claim's evaluation, each with a readable message in zh-hans and in en.

Pure reads: nothing here writes. ``run_checks`` answers every check in a fixed order; a claim passes only when all
pass (then ``subsidy`` computes the amount and ``reserve`` holds it). The subsidy itself, and the "not twice" rules
under the database's unique keys, are decided later under locks: these checks are the readable first pass.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import Organization
from accounts.selectors import organization_barred_until, organizations_related
from ledger.money import apply_rate_round_down, fen_to_yuan
from voucher_service.claims.drafts import claim_as_input, consistency_problems
from voucher_service.claims.models import Claim, ClaimInvoice, PlatformOrder
from voucher_service.programs.models import ProgramVersion
from voucher_service.programs.rules import ProgramRules, ProRating, RelatedParties, ScopeMode
from voucher_service.programs.selectors import provider_in_scope, provider_in_scope_during
from voucher_service.vouchers.eligibility import entity_category_ok
from voucher_service.vouchers.models import Voucher, VoucherStatus
from voucher_service.vouchers.selectors import voucher_balance

LANGUAGES = ("zh-hans", "en")


def bilingual(render: Callable[[], str]) -> dict[str, str]:
    """The same message rendered in each language the API speaks (stored, so a refusal reads the same later)."""
    out = {}
    for language in LANGUAGES:
        with translation.override(language):
            out[language] = str(render())
    return out


@dataclass(frozen=True)
class Check:
    check: str
    ok: bool
    message: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "ok": self.ok, "message": self.message}


def check(code: str, ok: bool, render: Callable[[], str]) -> Check:
    return Check(code, ok, bilingual(render))


@dataclass
class Context:
    """What one evaluation reads: the claim, the rules in force at submission, and the vouchers it redeems."""

    claim: Claim
    version: ProgramVersion
    rules: ProgramRules
    filed_on: date
    vouchers: list[Voucher]
    flags: list[str] = field(default_factory=list)

    @property
    def paid(self) -> int:
        return sum(self.claim.payments.values_list("amount", flat=True))


def select_vouchers(claim: Claim) -> list[Voucher]:
    """The vouchers a claim redeems: those it names, in its order; or else the entity's active vouchers of the
    program whose validity covers the delivery, soonest-expiring first. All of one fiscal year (the first's)."""
    base = Voucher.objects.select_related("account").filter(entity_id=claim.entity_id, program_id=claim.program_id)
    if claim.requested_vouchers:
        by_pk = base.in_bulk(claim.requested_vouchers)
        return [by_pk[pk] for pk in claim.requested_vouchers if pk in by_pk]
    candidates = list(
        base.filter(
            status=VoucherStatus.ACTIVE,
            valid_from__lte=claim.delivery_ends_on,
            valid_until__gte=claim.delivery_starts_on,
        ).order_by("valid_until", "pk")
    )
    # An empty list of candidates never reads candidates[0].
    return [v for v in candidates if v.fiscal_year == candidates[0].fiscal_year]


def eligible_window(ctx: Context) -> tuple[date | None, date | None]:
    """Where the program's window (with its extensions) and every voucher's validity overlap."""
    program = ctx.claim.program
    start, end = program.valid_from, program.valid_until
    for voucher in ctx.vouchers:
        start = voucher.valid_from if start is None else max(start, voucher.valid_from)
        end = voucher.valid_until if end is None else min(end, voucher.valid_until)
    return start, end


def days_inside(ctx: Context) -> tuple[int, int]:
    """(delivery days inside the eligible window, delivery days): the pro-rating fraction."""
    claim = ctx.claim
    total = (claim.delivery_ends_on - claim.delivery_starts_on).days + 1
    start, end = eligible_window(ctx)
    low = max(claim.delivery_starts_on, start) if start else claim.delivery_starts_on
    high = min(claim.delivery_ends_on, end) if end else claim.delivery_ends_on
    return max(0, (high - low).days + 1), total


def eligible_cost(ctx: Context) -> int:
    """The paid cost, pro-rated by days when the program says so (rounded down, ``ledger.money``)."""
    from decimal import Decimal

    paid = ctx.paid
    if ctx.rules.pro_rating != ProRating.DAYS_IN_WINDOW:
        return paid
    inside, total = days_inside(ctx)
    return apply_rate_round_down(paid, Decimal(inside) / Decimal(total))


def _declaration(ctx: Context) -> list[Check]:
    ok = ctx.claim.declaration_accepted
    return [
        check(
            "declaration",
            ok,
            (lambda: _("The truthfulness declaration (真实性承诺书) is accepted."))
            if ok
            else (lambda: _("The truthfulness declaration (真实性承诺书) has not been accepted.")),
        )
    ]


def _evidence(ctx: Context) -> list[Check]:
    have = set(ctx.claim.evidence.values_list("kind", flat=True))
    missing = [kind for kind in ctx.rules.required_evidence if kind not in have]
    return [
        check(
            "evidence",
            not missing,
            (lambda: _("Every required kind of evidence is attached."))
            if not missing
            else (lambda: _("Evidence missing: %(kinds)s.") % {"kinds": ", ".join(missing)}),
        )
    ]


def _consistency(ctx: Context) -> list[Check]:
    data = claim_as_input(ctx.claim)
    by_language = {}
    for language in LANGUAGES:
        with translation.override(language):
            by_language[language] = consistency_problems(data)
    # A provider without a USCC (NULL) issued none of the invoices: every invoice then names another issuer.
    issuer = ctx.claim.provider.uscc
    strangers = sorted({i for i in ctx.claim.invoices.values_list("issuer_uscc", flat=True) if i != issuer})
    out = [
        Check("consistency", False, {language: by_language[language][index][2] for language in LANGUAGES})
        for index in range(len(by_language[LANGUAGES[0]]))
    ]
    if strangers:
        out.append(
            check(
                "invoice_issuer",
                False,
                lambda: _("Invoices issued by %(issuers)s, not by the provider.") % {"issuers": ", ".join(strangers)},
            )
        )
    if not out:
        out.append(check("consistency", True, lambda: _("Invoices, payments, contract and periods agree.")))
    return out


def _windows(ctx: Context) -> list[Check]:
    claim, rules, program = ctx.claim, ctx.rules, ctx.claim.program
    out = []
    inside, total = days_inside(ctx)
    partial_ok = rules.pro_rating == ProRating.DAYS_IN_WINDOW and inside > 0
    in_window = inside == total or partial_ok
    out.append(
        check(
            "delivery_window",
            in_window,
            (lambda: _("The delivery lies inside the program's and the vouchers' validity."))
            if in_window
            else (
                lambda: (
                    _(
                        "The delivery (%(start)s to %(end)s) lies outside the program's window (%(from)s to %(until)s) "
                        "or a voucher's validity."
                    )
                    % {
                        "start": claim.delivery_starts_on,
                        "end": claim.delivery_ends_on,
                        "from": program.valid_from,
                        "until": program.valid_until or "—",
                    }
                )
            ),
        )
    )
    window_open = rules.claim_window_open(ctx.filed_on)
    out.append(
        check(
            "claim_window",
            window_open,
            (lambda: _("Filed inside the program's claim window."))
            if window_open
            else (
                lambda: (
                    _("Filed on %(day)s, outside the program's claim windows (%(windows)s).")
                    % {"day": ctx.filed_on, "windows": "; ".join(w.text() for w in rules.claim_windows)}
                )
            ),
        )
    )
    late = [v for v in ctx.vouchers if ctx.filed_on > v.valid_until + timedelta(days=rules.claim_grace_days)]
    out.append(
        check(
            "grace_period",
            not late,
            (lambda: _("Filed within %(days)d days of the vouchers' validity.") % {"days": rules.claim_grace_days})
            if not late
            else (
                lambda: (
                    _("Voucher %(serial)s ended on %(until)s; claims on it closed %(days)d days later.")
                    % {"serial": late[0].serial, "until": late[0].valid_until, "days": rules.claim_grace_days}
                )
            ),
        )
    )
    return out


def _vouchers(ctx: Context) -> list[Check]:
    claim = ctx.claim
    usable = [v for v in ctx.vouchers if v.status == VoucherStatus.ACTIVE and voucher_balance(v)["available"] > 0]
    years = {v.fiscal_year for v in ctx.vouchers}
    if not ctx.vouchers or not usable:
        return [check("vouchers", False, lambda: _("The entity has no voucher of this program with a balance to use."))]
    if len(years) > 1 or len(ctx.vouchers) != len(claim.requested_vouchers or ctx.vouchers):
        return [check("vouchers", False, lambda: _("A claim redeems active vouchers of one fiscal year, its own."))]
    if len(usable) != len(ctx.vouchers):
        return [check("vouchers", False, lambda: _("A named voucher is not active or has nothing left."))]
    return [
        check(
            "vouchers",
            True,
            lambda: _("%(n)d voucher(s) of %(year)d redeemed.") % {"n": len(usable), "year": next(iter(years))},
        )
    ]


def _provider(ctx: Context) -> list[Check]:
    claim = ctx.claim
    decision, day = provider_in_scope_during(
        ctx.version, claim.provider, claim.delivery_starts_on, claim.delivery_ends_on, claim.service_type
    )
    out = [
        check(
            "provider",
            bool(decision),
            (lambda: _("The provider was listed and in scope for this service on the delivery dates."))
            if decision
            # The reason again in each language: the decision's own is in the language active when it was made.
            else (lambda: _("On %(day)s: %(reason)s") % {"day": day, "reason": _scope_reason(ctx, day)}),
        )
    ]
    if ctx.rules.provider_scope.mode == ScopeMode.DESIGNATED_PLATFORM:
        out.append(_platform_order(ctx))
    return out


def _scope_reason(ctx: Context, day: date) -> str:
    claim = ctx.claim
    return provider_in_scope(ctx.version, claim.provider, day, claim.service_type).reason


def _platform_order(ctx: Context) -> Check:
    claim, platforms = ctx.claim, ctx.rules.provider_scope.platforms
    order = PlatformOrder.objects.filter(platform_id__in=platforms, order_number=claim.platform_order_number).first()
    if not claim.platform_order_number or order is None:
        return check(
            "platform_order", False, lambda: _("The claim cites no order recorded by the designated platform.")
        )
    matches = (
        order.provider_id == claim.provider_id
        and order.buyer_uscc == claim.entity.uscc  # an order always names a buyer; an entity without a USCC is none
        and order.amount == ctx.paid
        and order.service_starts_on <= claim.delivery_starts_on
        and claim.delivery_ends_on <= order.service_ends_on
    )
    if matches:
        claim.platform_order = order
    return check(
        "platform_order",
        matches,
        (lambda: _("Platform order %(number)s matches the claim.") % {"number": order.order_number})
        if matches
        else (
            lambda: (
                _("Platform order %(number)s does not match the claim's provider, buyer, amount or period.")
                % {"number": order.order_number}
            )
        ),
    )


def _not_twice(ctx: Context) -> list[Check]:
    claim = ctx.claim
    first = (
        Claim.objects.filter(program_id=claim.program_id, contract_number=claim.contract_number, counts=True)
        .exclude(pk=claim.pk)
        .values_list("pk", flat=True)
        .first()
    )
    out = []
    if first is not None:
        out.append(
            check(
                "contract_once",
                False,
                lambda: (
                    _("Contract %(number)s is already subsidised by claim #%(first)d.")
                    % {"number": claim.contract_number, "first": first}
                ),
            )
        )
    for invoice in claim.invoices.all():
        taken = invoice_taken_by(invoice, claim)
        if taken is not None:
            out.append(check("invoice_once", False, functools.partial(invoice_taken_message, invoice, taken)))
    return out or [check("not_twice", True, lambda: _("Neither the contract nor an invoice was subsidised before."))]


def invoice_taken_message(invoice: ClaimInvoice, first: int | None) -> str:
    return _("Invoice %(number)s is already subsidised by claim #%(first)s.") % {
        "number": invoice.code + invoice.number,
        "first": first,
    }


def invoice_taken_by(invoice: ClaimInvoice, claim: Claim) -> int | None:
    return (
        ClaimInvoice.objects.filter(
            counts=True, issuer_uscc=invoice.issuer_uscc, code=invoice.code, number=invoice.number
        )
        .exclude(claim=claim)
        .values_list("claim_id", flat=True)
        .first()
    )


def _parties(ctx: Context) -> list[Check]:
    claim = ctx.claim
    entity: Organization = claim.entity
    out = []
    bar = organization_barred_until(entity, ctx.filed_on)
    out.append(
        check(
            "entity_not_barred",
            bar is None,
            (lambda: _("The entity is not barred."))
            if bar is None
            else (lambda: _("The entity is barred from claims until %(until)s.") % {"until": bar.until}),
        )
    )
    category_ok = entity_category_ok(ctx.rules, entity)
    out.append(
        check(
            "entity_eligible",
            category_ok,
            (lambda: _("The entity may hold vouchers of this program."))
            if category_ok
            else (lambda: _("The entity's category is not eligible under this program.")),
        )
    )
    relation = organizations_related(entity, claim.provider)
    if relation is None:
        out.append(check("related_parties", True, lambda: _("Buyer and provider are not related.")))
    elif ctx.rules.related_parties == RelatedParties.FLAG_FOR_REVIEW:
        ctx.flags.append("related_party")
        out.append(
            check(
                "related_parties",
                True,
                lambda: _("Buyer and provider are related (%(how)s): flagged for the reviewers.") % {"how": relation},
            )
        )
    else:
        out.append(
            check(
                "related_parties",
                False,
                lambda: _("Buyer and provider are related parties (%(how)s).") % {"how": relation},
            )
        )
    return out


def _minimum(ctx: Context) -> list[Check]:
    minimum = ctx.rules.minimum_claim
    if minimum is None:
        return []
    cost = eligible_cost(ctx)
    return [
        check(
            "minimum_claim",
            cost >= minimum,
            lambda: (
                _("The eligible cost is %(cost)s yuan; the program's minimum claim is %(minimum)s yuan.")
                % {"cost": fen_to_yuan(cost), "minimum": fen_to_yuan(minimum)}
            ),
        )
    ]


CHECKS = (_declaration, _evidence, _consistency, _vouchers, _windows, _provider, _not_twice, _parties, _minimum)


def run_checks(ctx: Context) -> list[Check]:
    out: list[Check] = []
    for run in CHECKS:
        out.extend(run(ctx))
    return out
