"""The /api/v1/ routes. Each domain contributes its own urlpatterns; the root maps them."""

from django.conf import settings
from django.urls import include, path

from voucher_service.api.baseline import BaselineView
from voucher_service.api.root import ApiRootView

urlpatterns = [
    path("", ApiRootView.as_view(), name="api-root"),
    path("", include("accounts.api.urls")),
    path("", include("voucher_service.programs.api.urls")),
    path("", include("voucher_service.vouchers.api.urls")),
    path("", include("voucher_service.claims.api.urls")),
    path("", include("voucher_service.reports.api.urls")),
]

if settings.BENCH_BASELINE_ENDPOINT:  # bench/ only: the baseline every endpoint's cost is measured against
    urlpatterns.append(path("bench/baseline/", BaselineView.as_view(), name="bench-baseline"))
