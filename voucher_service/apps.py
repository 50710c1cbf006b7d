from django.apps import AppConfig


class VoucherServiceConfig(AppConfig):
    name = "voucher_service"
    verbose_name = "Compute vouchers"

    def ready(self) -> None:
        from voucher_service import checks

        checks.register()
