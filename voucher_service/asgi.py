import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voucher_service.settings")
application = get_asgi_application()

# ASGI servers run no system checks: refuse to serve with demo users or an exposed embedded mode (checks.py).
from voucher_service.checks import startup_guard  # noqa: E402 (needs the app registry loaded above)

startup_guard()
