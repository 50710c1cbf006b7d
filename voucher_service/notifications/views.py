"""The portal's notification pages (included under /me/notifications/ by voucher_service/portal/urls.py): the
list with mark-read, and the email preference. Thin: selectors read, services write."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from voucher_service.notifications import selectors, services
from voucher_service.notifications.errors import NotificationError
from voucher_service.notifications.forms import PreferenceForm
from voucher_service.notifications.links import link_for
from voucher_service.notifications.messages import detail, title
from voucher_service.portal.errors import SERVICE_ERRORS, show_on_form

PAGE_SIZE = 30


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    queryset = selectors.notifications_of(request.user)
    if request.GET.get("unread") == "1":
        queryset = queryset.filter(read_at__isnull=True)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    items = [
        {
            "notification": n,
            "title": title(n.kind, n.params),
            "detail": detail(n.params),
            "link": link_for(n),
        }
        for n in page.object_list
    ]
    context = {"page": page, "items": items, "unread_only": request.GET.get("unread") == "1"}
    return render(request, "notifications/list.html", context)


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one read, then follow its link (``?go=1``) or come back to the list."""
    try:
        notification = services.notification_mark_read(actor=request.user, notification_id=pk)
    except NotificationError as exc:
        raise Http404 from exc
    target = link_for(notification) if request.POST.get("go") else None
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("portal:notifications")


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    count = services.notifications_mark_all_read(actor=request.user)
    if count:
        messages.success(request, _("%(count)d notifications marked read.") % {"count": count})
    return redirect("portal:notifications")


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    current = selectors.preference_of(request.user)
    form = PreferenceForm(
        request.POST or None, initial={"email_mode": current.email_mode, "language": current.language}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.preference_set(actor=request.user, **form.cleaned_data)
        except SERVICE_ERRORS as exc:
            show_on_form(form, exc)
        else:
            messages.success(request, _("Your notification preferences are saved."))
            return redirect("portal:notification-preferences")
    address = getattr(request.user, "email", "")
    return render(request, "notifications/preferences.html", {"form": form, "address": address})
