from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class VoucherServiceConfig(AppConfig):
    name = "voucher_service"
    verbose_name = "Compute vouchers"

    def ready(self) -> None:
        from voucher_service import checks

        create_local_directories()
        checks.register()


def create_local_directories() -> None:
    """The folders embedded mode keeps its data in (``settings.LOCAL_DIRECTORIES``: the SQLite file's, the
    filesystem broker's), made once Django starts rather than whenever the settings are imported."""
    for directory in settings.LOCAL_DIRECTORIES:
        Path(directory).mkdir(parents=True, exist_ok=True)
