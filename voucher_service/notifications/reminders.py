"""Reminders beat sends each day: vouchers that expire within ``VOUCHER_DAYS`` days with money left on them, and
claim windows (a program's ``claim_windows``) that close within ``WINDOW_DAYS`` days. Each reminder is one
notification per recipient and voucher (and validity end) or program (and closing day): sending them again the
next day, or twice the same day, writes nothing new."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from django.db.models import F
from django.utils import timezone

from core.transactions import service_write
from ledger.money import fen_to_yuan
from voucher_service.notifications.messages import Kind
from voucher_service.notifications.recipients import WAIT, members
from voucher_service.notifications.services import Outgoing, deliver
from voucher_service.programs.models import Program, ProgramStatus
from voucher_service.programs.rules import ClaimWindow
from voucher_service.programs.selectors import program_rules
from voucher_service.vouchers.models import Voucher, VoucherStatus

VOUCHER_DAYS = 30
WINDOW_DAYS = 7


def vouchers_expiring(today: date) -> list[Voucher]:
    """Active vouchers valid until a day from today to ``VOUCHER_DAYS`` days on, with money not yet held."""
    return list(
        Voucher.objects.filter(
            status=VoucherStatus.ACTIVE,
            valid_until__gte=today,
            valid_until__lte=today + timedelta(days=VOUCHER_DAYS),
            account__posted_credits__gt=F("account__posted_debits") + F("account__pending_debits"),
        )
        .select_related("program", "entity", "account")
        .order_by("pk")
    )


def _on(year: int, month_day: tuple[int, int]) -> date:
    month, day = month_day
    try:
        return date(year, month, day)
    except ValueError:  # 29 February in a common year
        return date(year, month, day - 1)


def window_closing(window: ClaimWindow, today: date) -> date | None:
    """The day ``window`` closes if it is open today and closes within ``WINDOW_DAYS`` days, else None."""
    if not window.covers(today):
        return None
    closes = _on(today.year, window.closes)
    if closes < today:  # a window that wraps the new year closes next year
        closes = _on(today.year + 1, window.closes)
    return closes if closes <= today + timedelta(days=WINDOW_DAYS) else None


def windows_closing(today: date) -> Iterator[tuple[Program, date]]:
    for program in Program.objects.filter(status=ProgramStatus.PUBLISHED).order_by("pk"):
        if not program.window_covers(today):
            continue
        rules = program_rules(program, today)
        for window in rules.claim_windows if rules else ():
            closes = window_closing(window, today)
            if closes is not None:
                yield program, closes


def _voucher_reminders(today: date) -> Iterator[Outgoing]:
    for voucher in vouchers_expiring(today):
        account = voucher.account
        left = account.posted_credits - account.posted_debits - account.pending_debits
        params = {
            "serial": voucher.serial,
            "entity": voucher.entity.name,
            "program": voucher.program.name,
            "amount": fen_to_yuan(left),
            "until": voucher.valid_until.isoformat(),
        }
        for user_id in sorted(members([voucher.entity_id], ["applicant"])):
            yield Outgoing(
                recipient_id=user_id,
                kind=Kind.VOUCHER_EXPIRING,
                key=f"voucher-expiry:{voucher.pk}:{voucher.valid_until.isoformat()}",
                audience=WAIT,
                target_type="vouchers.voucher",
                target_id=str(voucher.pk),
                params=params,
            )


def _window_reminders(today: date) -> Iterator[Outgoing]:
    for program, closes in windows_closing(today):
        # Who may claim: the entities holding an active voucher of the program.
        holders = Voucher.objects.filter(program=program, status=VoucherStatus.ACTIVE).values_list(
            "entity_id", flat=True
        )
        params = {"program": program.name, "until": closes.isoformat()}
        for user_id in sorted(members(set(holders), ["applicant"])):
            yield Outgoing(
                recipient_id=user_id,
                kind=Kind.CLAIM_WINDOW_CLOSING,
                key=f"claim-window:{program.pk}:{closes.isoformat()}",
                audience=WAIT,
                target_type="programs.program",
                target_id=str(program.pk),
                params=params,
            )


@service_write
def reminders_send(*, today: date | None = None) -> dict[str, int]:
    """Write today's reminders (those not written before). Their emails go out with the next sweep, or in the
    recipients' digests."""
    today = today or timezone.localdate()
    return {
        "vouchers": deliver(_voucher_reminders(today)),
        "claim_windows": deliver(_window_reminders(today)),
    }
