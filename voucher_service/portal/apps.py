from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "voucher_service.portal"
    label = "portal"
    verbose_name = "Portal"
