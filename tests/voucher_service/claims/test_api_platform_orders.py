"""/api/v1/platform-orders/: a platform records its orders (idempotent by number); the program's agency reads them."""

import pytest

from accounts.models import Organization
from tests.claims import list_provider
from tests.factories import client_for, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform(seeded):
    organization = Organization.objects.get(name="和林格尔多云算力监测与调度平台")
    return organization, make_user(organization, "applicant", username="horinger_ops")


def order(platform, provider, **changes):
    return {
        "platform": platform.pk,
        "order_number": "HL-0001",
        "buyer_uscc": "91150102MA0QK8J56X",
        "provider": provider.pk,
        "amount": "120000.00",
        "service_starts_on": "2026-03-01",
        "service_ends_on": "2026-06-30",
        **changes,
    }


def test_an_order_is_recorded_once_and_replayed(platform):
    organization, user = platform
    provider = list_provider("150123", platforms=(organization,))
    client = client_for(user)
    first = client.post("/api/v1/platform-orders/", order(organization, provider), format="json")
    again = client.post("/api/v1/platform-orders/", order(organization, provider), format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    # the same number with other details is a conflict, never an overwrite
    changed = client.post("/api/v1/platform-orders/", order(organization, provider, amount="1.00"), format="json")
    assert changed.status_code == 409
    assert client.get("/api/v1/platform-orders/").json()["results"][0]["amount"] == "120000.00"


def test_only_the_platform_records_its_orders(platform, bd):
    organization, _user = platform
    provider = list_provider("150123", platforms=(organization,))
    for user in (bd.applicant, bd.reviewer, bd.finance):
        response = client_for(user).post("/api/v1/platform-orders/", order(organization, provider), format="json")
        assert response.status_code == 400  # the platform is not theirs: it does not exist for them
        assert response.json()["error"]["fields"]["platform"][0]["code"] == "does_not_exist"
    assert client_for(None).post("/api/v1/platform-orders/", {}, format="json").status_code == 401


def test_dates_out_of_order_are_refused(platform):
    organization, user = platform
    provider = list_provider("150123", platforms=(organization,))
    body = order(organization, provider, service_ends_on="2026-01-01")
    response = client_for(user).post("/api/v1/platform-orders/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["service_ends_on"][0]["code"] == "dates_out_of_order"
