from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClaimsConfig(AppConfig):
    name = "voucher_service.claims"
    label = "claims"
    verbose_name = _("Redemption claims")

    def ready(self) -> None:
        # verify_ledger asks the domain why each of its entries and holds exists (ledger.explanations).
        from voucher_service.claims import ledger_explanations

        ledger_explanations.register()
