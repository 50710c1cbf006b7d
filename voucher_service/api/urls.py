"""The /api/v1/ routes. Each domain contributes its own urlpatterns."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api.urls")),
    path("", include("voucher_service.programs.api.urls")),
    path("", include("voucher_service.vouchers.api.urls")),
]
