from rest_framework.routers import SimpleRouter

from voucher_service.programs.api import views

router = SimpleRouter()
router.register("programs", views.ProgramViewSet, basename="program")
router.register("providers", views.ProviderViewSet, basename="provider")

urlpatterns = router.urls
