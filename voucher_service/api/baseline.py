"""The benchmarks' baseline: the cheapest authenticated write of this API, mounted only when the setting
``BENCH_BASELINE_ENDPOINT`` is on (``bench/`` turns it on for its own server; production never does).

``POST /api/v1/bench/baseline/`` goes through the same middleware, authentication (Bearer token or session),
permission and renderer as every API view, inserts one row (``BenchmarkRow``) in its own transaction and answers
201. ``bench/`` reports each endpoint's throughput and CPU as a ratio of it. It is left out of the OpenAPI
document: it is not part of the API.
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from voucher_service.models import BenchmarkRow


class BaselineView(APIView):
    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        with transaction.atomic(durable=True):
            row = BenchmarkRow.objects.create(user_id=int(request.user.pk or 0))  # authenticated: has a pk
        return Response({"id": row.pk}, status=status.HTTP_201_CREATED)
