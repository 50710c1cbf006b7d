from django.urls import path
from rest_framework.routers import SimpleRouter

from voucher_service.vouchers.api import views

router = SimpleRouter()
# "issuances/bulk" before "issuances": the detail routes take digits only, so the two never collide.
router.register("issuances/bulk", views.BulkIssuanceViewSet, basename="bulk-issuance")
router.register("issuances", views.IssuanceViewSet, basename="issuance")
router.register("voucher-applications", views.VoucherApplicationViewSet, basename="voucher-application")
router.register("vouchers", views.VoucherViewSet, basename="voucher")

urlpatterns = [
    path("vouchers/verify/<str:token>/", views.VoucherVerifyView.as_view(), name="voucher-verify"),
    *router.urls,
]
