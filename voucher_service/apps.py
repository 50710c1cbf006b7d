from django.apps import AppConfig


class VoucherServiceConfig(AppConfig):
    name = "voucher_service"
    verbose_name = "Compute vouchers"
