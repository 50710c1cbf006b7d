"""The benchmarks' baseline endpoint (voucher_service.api.baseline): off by default, outside the API's schema."""

import pytest
from django.conf import settings
from django.urls import NoReverseMatch, path, reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIRequestFactory, force_authenticate

from voucher_service.api.baseline import BaselineView
from voucher_service.models import BenchmarkRow


def test_the_baseline_endpoint_is_not_mounted_unless_the_setting_is_on():
    # given the default settings (what production runs)
    assert settings.BENCH_BASELINE_ENDPOINT is False
    # when its route is looked up / then it does not exist
    with pytest.raises(NoReverseMatch):
        reverse("bench-baseline")


def test_the_baseline_endpoint_is_left_out_of_the_schema_even_when_mounted():
    # given a URLconf that mounts it (as the benchmarks' server does)
    patterns = [path("api/v1/bench/baseline/", BaselineView.as_view())]
    # when the OpenAPI document is generated for it
    document = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    # then it has no path: the baseline is not part of the API
    assert document["paths"] == {}


@pytest.mark.django_db
def test_the_baseline_inserts_one_row_for_an_authenticated_user(reviewer):
    # given an authenticated POST
    request = APIRequestFactory().post("/api/v1/bench/baseline/", {}, format="json")
    force_authenticate(request, user=reviewer)
    # when the baseline view answers it
    response = BaselineView.as_view()(request)
    # then it created one row, of that user
    assert response.status_code == 201
    assert list(BenchmarkRow.objects.values_list("pk", "user")) == [(response.data["id"], reviewer.pk)]


@pytest.mark.django_db
def test_the_baseline_refuses_an_anonymous_request():
    # given a POST without credentials / when the baseline view answers it
    response = BaselineView.as_view()(APIRequestFactory().post("/api/v1/bench/baseline/", {}, format="json"))
    # then it is refused like every API view, and nothing is written
    assert response.status_code in (401, 403)
    assert not BenchmarkRow.objects.exists()
