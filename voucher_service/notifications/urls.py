"""Notification pages, included in the portal's namespace under /me/notifications/ (voucher_service/portal/urls.py)."""

from django.urls import path

from voucher_service.notifications import views

urlpatterns = [
    path("", views.notification_list, name="notifications"),
    path("<int:pk>/read/", views.notification_read, name="notification-read"),
    path("read-all/", views.notifications_read_all, name="notifications-read-all"),
    path("preferences/", views.preferences, name="notification-preferences"),
]
