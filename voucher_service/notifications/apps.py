from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "voucher_service.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        # A new audit event of a kind that notifies someone sends a task once its transaction commits.
        from voucher_service.notifications import signals

        signals.connect()
