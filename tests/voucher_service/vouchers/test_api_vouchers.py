"""/api/v1/vouchers/: who sees what, revocation (back to the budget, or lapsed), and public verification."""

import pytest

from tests.factories import apply, client_for, make_program
from voucher_service.programs.selectors import budget_figures, budget_for, current_fiscal_year
from voucher_service.vouchers.models import EntityYearTotal, Voucher, VoucherApplication


def issue(program, applicant, entity, reviewer, capture, amount="120.00"):
    created = apply(client_for(applicant), program, entity, amount)
    assert created.status_code == 201, created.json()
    application = VoucherApplication.objects.get(pk=created.json()["id"])
    with capture(execute=True):
        assert client_for(reviewer).post(f"/api/v1/voucher-applications/{application.pk}/approve/").status_code == 202
    return Voucher.objects.get(issuance__application=application)


@pytest.fixture
def voucher(program, applicant, entity, reviewer, django_capture_on_commit_callbacks):
    return issue(program, applicant, entity, reviewer, django_capture_on_commit_callbacks)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "sees"),
    [
        ("applicant", True),
        ("outsider", False),
        ("reviewer", True),
        ("auditor", True),
        ("foreign_admin", False),
        ("staff", True),
    ],
)
def test_visibility(request, voucher, persona, sees):
    client = client_for(request.getfixturevalue(persona))
    listed = [row["id"] for row in client.get("/api/v1/vouchers/").json()["results"]]
    detail = client.get(f"/api/v1/vouchers/{voucher.pk}/")
    assert (voucher.pk in listed) is sees
    assert detail.status_code == (200 if sees else 404)


@pytest.mark.django_db
def test_revocation_returns_the_unused_amount_to_the_budget(program, voucher, program_admin):
    # given
    year = current_fiscal_year()
    before = budget_figures(budget_for(program, year))
    # when
    response = client_for(program_admin).post(
        f"/api/v1/vouchers/{voucher.pk}/revoke/", {"reason": "主体注销"}, format="json"
    )
    # then
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["balance"], response.json()["closed_amount"]) == (
        "revoked",
        "0.00",
        "120.00",
    )
    after = budget_figures(budget_for(program, year))
    assert after.remaining == before.remaining + 12_000
    assert after.returned == before.returned + 12_000
    total = EntityYearTotal.objects.get(entity=voucher.entity, program=program)
    assert (total.issued, total.returned) == (12_000, 12_000)


@pytest.mark.django_db
def test_revocation_lapses_when_the_program_says_so(
    program_admin, ningxia_agency, applicant, entity, reviewer, django_capture_on_commit_callbacks
):
    program = make_program(program_admin, ningxia_agency, code="nx-lapse", unused_amounts="lapse")
    voucher = issue(program, applicant, entity, reviewer, django_capture_on_commit_callbacks, "50.00")
    before = budget_figures(budget_for(program, current_fiscal_year()))
    response = client_for(program_admin).post(f"/api/v1/vouchers/{voucher.pk}/revoke/", {"reason": "x"}, format="json")
    assert response.status_code == 200, response.json()
    after = budget_figures(budget_for(program, current_fiscal_year()))
    assert after.remaining == before.remaining
    assert after.lapsed == before.lapsed + 5_000
    assert response.json()["closed_to"] == "lapse"


@pytest.mark.django_db
def test_revocation_rules(voucher, program_admin, reviewer, applicant):
    url = f"/api/v1/vouchers/{voucher.pk}/revoke/"
    assert client_for(program_admin).post(url, {"reason": ""}, format="json").status_code == 400
    assert client_for(reviewer).post(url, {"reason": "x"}, format="json").status_code == 403
    assert client_for(applicant).post(url, {"reason": "x"}, format="json").status_code == 403
    assert client_for(program_admin).post(url, {"reason": "x"}, format="json").status_code == 200
    again = client_for(program_admin).post(url, {"reason": "x"}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_state"


@pytest.mark.django_db
def test_verification_by_token_is_public_and_reveals_little(voucher):
    response = client_for(None).get(f"/api/v1/vouchers/verify/{voucher.token}/")
    assert response.status_code == 200
    assert set(response.json()) == {
        "serial",
        "program_name",
        "holder",
        "face_value",
        "balance",
        "valid_from",
        "valid_until",
        "status",
    }
    assert client_for(None).get("/api/v1/vouchers/verify/not-a-token/").status_code == 404


@pytest.mark.django_db
def test_expiry_returns_the_balance_and_is_idempotent(program, voucher):
    from datetime import timedelta

    from accounts.audit import SYSTEM
    from voucher_service.vouchers.services import vouchers_expire_due

    # given the voucher's validity ended yesterday
    before = budget_figures(budget_for(program, voucher.fiscal_year)).remaining
    day_after = voucher.valid_until + timedelta(days=1)
    # when the expiry job runs twice
    assert vouchers_expire_due(actor=SYSTEM, today=day_after) == 1
    assert vouchers_expire_due(actor=SYSTEM, today=day_after) == 0
    # then
    voucher.refresh_from_db()
    assert voucher.status == "expired"
    assert budget_figures(budget_for(program, voucher.fiscal_year)).remaining == before + voucher.face_value


@pytest.mark.django_db
def test_a_valid_voucher_does_not_expire(voucher):
    from accounts.audit import SYSTEM
    from voucher_service.vouchers.services import vouchers_expire_due

    assert vouchers_expire_due(actor=SYSTEM, today=voucher.valid_until) == 0


@pytest.mark.django_db
def test_a_makers_name_is_masked_on_the_public_verification(voucher):
    voucher.entity.category = "maker"
    voucher.entity.uscc = None
    voucher.entity.name = "张三创客团队"
    voucher.entity.save()
    holder = client_for(None).get(f"/api/v1/vouchers/verify/{voucher.token}/").json()["holder"]
    assert holder == "张*****"
