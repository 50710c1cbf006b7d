from django.core.management.base import BaseCommand

from voucher_service.demo import DEMO_PASSWORD, demo_load


class Command(BaseCommand):
    help = "Create the demo organisations and one user per role (idempotent; DEBUG or embedded mode only)."

    def handle(self, *args, **options) -> None:
        users = demo_load()
        self.stdout.write(self.style.SUCCESS(f"Demo users (password for all: {DEMO_PASSWORD})"))
        for user in users:
            self.stdout.write(f"  {user.username:<20} {user.role:<14} {user.description}")
        self.stdout.write(f"  {'demo_staff':<20} {'staff':<14} Django admin at /admin/ (superuser)")
        from voucher_service.claims.models import Claim

        states = list(
            Claim.objects.filter(contract_number__startswith="DEMO-").order_by("pk").values_list("status", flat=True)
        )
        if states:
            self.stdout.write(f"Demo claims of 定州算力应用 (demo_dz_applicant), one per state: {', '.join(states)}")
