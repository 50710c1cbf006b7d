from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProgramsConfig(AppConfig):
    name = "voucher_service.programs"
    label = "programs"
    verbose_name = _("Voucher programs")

    def ready(self) -> None:
        # verify_ledger asks the domain why each of its entries exists (ledger.explanations).
        from voucher_service.programs import ledger_explanations

        ledger_explanations.register()
