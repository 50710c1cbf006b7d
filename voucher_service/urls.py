"""Top-level URLs: the versioned API, its schema and docs, health, and the admin."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
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
    # A person who opens the bare address lands on the API documentation.
    path("", RedirectView.as_view(pattern_name="api-docs", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("voucher_service.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file of its own: the Content-Security-Policy
    # (settings.CONTENT_SECURITY_POLICY) runs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
]
