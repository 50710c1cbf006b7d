"""Where a notification leads: the page on which its reader acts, or the one on which they follow what they wait for."""

from __future__ import annotations

import pytest

from voucher_service.notifications.links import link_for
from voucher_service.notifications.models import Notification


@pytest.mark.parametrize(
    ("target_type", "target_id", "audience", "expected"),
    [
        ("vouchers.voucherapplication", "7", "act", "/work/applications/7/"),
        ("vouchers.voucherapplication", "7", "wait", "/me/"),
        ("claims.claim", "5", "act", "/work/claims/5/"),
        ("claims.claim", "5", "wait", "/me/claims/5/"),
        ("programs.program", "3", "wait", "/programs/3/"),
        ("vouchers.voucher", "9", "act", "/work/"),
    ],
)
def test_a_notification_leads_to_the_page_of_its_reader(target_type, target_id, audience, expected):
    # given a notification of that target for that audience (not saved: the link depends on these fields alone)
    notification = Notification(target_type=target_type, target_id=target_id, audience=audience)
    # when / then
    assert link_for(notification) == expected
