from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and organisations")

    def ready(self) -> None:
        # A lockout of repeated failed logins (django-axes) is written to the audit trail.
        from axes.signals import user_locked_out

        from accounts.audit import audit_lockout

        user_locked_out.connect(audit_lockout, dispatch_uid="accounts.audit_lockout")
