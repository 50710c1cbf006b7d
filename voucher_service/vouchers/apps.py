from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VouchersConfig(AppConfig):
    name = "voucher_service.vouchers"
    label = "vouchers"
    verbose_name = _("Vouchers")

    def ready(self) -> None:
        # verify_ledger asks the domain why each of its entries exists (ledger.explanations).
        from voucher_service.vouchers import ledger_explanations

        ledger_explanations.register()
