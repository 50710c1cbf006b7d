"""GET /api/v1/: the API root, a map of the collections and where the schema and documentation are.

Public, like the documentation itself: it names URLs that the published schema names anyway.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

# name in the answer -> URL name (every collection of /api/v1/, and the public check of a voucher's token)
ENDPOINTS = {
    "auth_token": "auth-token",
    "auth_tokens": "token-list",
    "me": "me",
    "organizations": "organization-list",
    "jurisdictions": "jurisdiction-list",
    "programs": "program-list",
    "providers": "provider-list",
    "voucher_applications": "voucher-application-list",
    "issuances": "issuance-list",
    "bulk_issuances": "bulk-issuance-list",
    "vouchers": "voucher-list",
    "claims": "claim-list",
    "public_notices": "public-notice-list",
    "objections": "objection-list",
    "platform_orders": "platform-order-list",
    "report_vouchers": "report-vouchers",
    "report_applications": "report-applications",
    "report_audit_log": "report-audit-log",
    "report_journal": "report-journal",
    "report_exports": "report-export-list",
    "report_verifications": "report-verification-list",
    "report_verification_runs": "report-verification-run-list",
    "report_chain_head": "report-chain-head",
    "report_auditor_grants": "report-auditor-grant-list",
}


class ApiRootSerializer(serializers.Serializer):
    title = serializers.CharField()
    version = serializers.CharField()
    schema = serializers.URLField()
    docs = serializers.URLField()
    voucher_verify = serializers.CharField(help_text="GET with a voucher's token in place of {token}; no login.")
    endpoints = serializers.DictField(child=serializers.URLField())


class ApiRootView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    @extend_schema(operation_id="api_root", responses=ApiRootSerializer)
    def get(self, request: Request) -> Response:
        url = request.build_absolute_uri
        verify = url(reverse("voucher-verify", args=["TOKEN"])).replace("TOKEN", "{token}")  # a template, unquoted
        return Response(
            {
                "title": settings.SPECTACULAR_SETTINGS["TITLE"],
                "version": settings.SPECTACULAR_SETTINGS["VERSION"],
                "schema": url(reverse("schema")),
                "docs": url(reverse("api-docs")),
                "voucher_verify": verify,
                "endpoints": {name: url(reverse(route)) for name, route in ENDPOINTS.items()},
            }
        )
