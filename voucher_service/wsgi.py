import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voucher_service.settings")
application = get_wsgi_application()

# gunicorn runs no system checks: refuse to serve with demo users or an exposed embedded mode (checks.py).
from voucher_service.checks import startup_guard  # noqa: E402 (needs the app registry loaded above)

startup_guard()
