"""Platform orders: a designated platform (the Horinger platform) records the orders bought through it, with its own
token; a claim under a ``designated_platform`` program must cite one (``checks._platform_order``).

Recording is idempotent by order number: the same order again is answered with the order already recorded; the
same number with other details is a conflict (409), never an overwrite.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import Organization, OrganizationKind
from accounts.selectors import user_has_role
from core.transactions import service_write
from voucher_service.claims.errors import ClaimError, ClaimErrorCode, invalid
from voucher_service.claims.models import PlatformOrder
from voucher_service.claims.permissions import RECORD_PLATFORM_ORDERS


def _fingerprint(**fields: Any) -> str:
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@service_write
def platform_order_record(
    *,
    actor: Any,
    platform: Organization,
    order_number: str,
    buyer_uscc: str,
    provider: Organization,
    amount: int,
    service_starts_on: date,
    service_ends_on: date,
) -> tuple[PlatformOrder, bool]:
    """(the order, whether it was recorded now). A replay of the same order records nothing."""
    if platform.kind != OrganizationKind.PLATFORM or not user_has_role(actor, platform, RECORD_PLATFORM_ORDERS):
        raise ClaimError(ClaimErrorCode.PERMISSION_DENIED, _("Only a platform records its orders."))
    if service_ends_on < service_starts_on:
        raise invalid("service_ends_on", "dates_out_of_order", _("The service ends before it starts."))
    fingerprint = _fingerprint(
        buyer_uscc=buyer_uscc, provider=provider.pk, amount=amount, starts=service_starts_on, ends=service_ends_on
    )
    existing = PlatformOrder.objects.filter(platform=platform, order_number=order_number).first()
    if existing is None:
        try:
            with transaction.atomic():
                order = PlatformOrder.objects.create(
                    platform=platform,
                    order_number=order_number,
                    buyer_uscc=buyer_uscc,
                    provider=provider,
                    amount=amount,
                    service_starts_on=service_starts_on,
                    service_ends_on=service_ends_on,
                    fingerprint=fingerprint,
                    recorded_by=actor,
                )
        except IntegrityError:  # a twin of the same order committed first
            existing = PlatformOrder.objects.get(platform=platform, order_number=order_number)
        else:
            audit_record(
                actor=actor,
                action="platform_order.record",
                target=order,
                organization=platform,
                after={"order_number": order_number, "amount": amount, "provider": provider.pk},
            )
            return order, True
    if existing.fingerprint != fingerprint:
        raise ClaimError(
            ClaimErrorCode.DUPLICATE_ORDER,
            _("Order %(number)s is already recorded with other details.") % {"number": order_number},
        )
    return existing, False
