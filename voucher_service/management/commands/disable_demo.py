from django.core.management.base import BaseCommand

from accounts.audit import SYSTEM
from voucher_service.demo import demo_disable


class Command(BaseCommand):
    help = "Disable the demo users (published password): inactive, no usable password, tokens revoked. Audited."
    # Must run where the startup checks refuse everything else: demo users in production are what it fixes.
    requires_system_checks: list = []

    def handle(self, *args, **options) -> None:
        disabled = demo_disable(actor=SYSTEM)
        self.stdout.write(f"Disabled {len(disabled)} demo user(s): {', '.join(disabled) or 'none left'}")
