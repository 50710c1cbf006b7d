"""Top-level URLs: the portal, the versioned API, its schema and docs, health, and the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from voucher_service.api import errors
from voucher_service.health import healthz

# Under /api/ errors that no API view handled (an unknown path, a bug) answer in the API's JSON error format too;
# everywhere else these fall back to Django's own pages.
handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error

urlpatterns = [
    # The portal: public pages without login, a role's home page after it (voucher_service.portal).
    path("", include("voucher_service.portal.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("voucher_service.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file of its own: the Content-Security-Policy
    # (settings.CONTENT_SECURITY_POLICY) runs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
]
