from rest_framework.routers import SimpleRouter

from voucher_service.claims.api import views

router = SimpleRouter()
router.register("claims", views.ClaimViewSet, basename="claim")
router.register("public-notices", views.PublicNoticeViewSet, basename="public-notice")
router.register("objections", views.ObjectionViewSet, basename="objection")
router.register("platform-orders", views.PlatformOrderViewSet, basename="platform-order")

urlpatterns = router.urls
