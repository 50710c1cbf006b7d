"""POST /api/v1/issuances/bulk/: CSV upload, per-row validation, both modes, caps, progress."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import client_for, make_org
from voucher_service.vouchers.models import BulkIssuance, EntityYearTotal, Issuance, Voucher

URL = "/api/v1/issuances/bulk/"


@pytest.fixture
def entities(db):
    return [make_org(jurisdiction="640104", name=f"批量主体{n}") for n in range(4)]


def csv_file(text, encoding="utf-8"):
    return SimpleUploadedFile("vouchers.csv", text.encode(encoding), content_type="text/csv")


def upload(user, program, text, mode="all_or_nothing", encoding="utf-8", capture=None, **extra):
    body = {"program": program.pk, "mode": mode, "file": csv_file(text, encoding), **extra}
    if capture is None:
        return client_for(user).post(URL, body, format="multipart")
    with capture(execute=True):
        return client_for(user).post(URL, body, format="multipart")


def rows(*lines):
    return "uscc,amount,memo\n" + "\n".join(lines) + "\n"


@pytest.mark.django_db
def test_a_valid_file_is_issued_with_progress(program, entities, program_admin, django_capture_on_commit_callbacks):
    text = rows(*(f"{e.uscc},{10 + n}.50,第{n}行" for n, e in enumerate(entities)))
    response = upload(program_admin, program, text, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.json()
    assert response["Location"] == response.json()["status_url"]
    assert response.json()["status_url"].endswith(f"{URL}{response.json()['id']}/")
    bulk = client_for(program_admin).get(response.json()["status_url"]).json()
    assert (bulk["status"], bulk["total_rows"], bulk["processed_rows"], bulk["succeeded_rows"], bulk["percent"]) == (
        "completed",
        4,
        4,
        4,
        100,
    )
    assert sorted(Voucher.objects.values_list("face_value", flat=True)) == [1050, 1150, 1250, 1350]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("line", "field", "code"),
    [
        ("{uscc},0,", "amount", "min_value"),
        ("{uscc},-1,", "amount", "invalid"),
        ("{uscc},00100,", "amount", "invalid"),
        ("{uscc},+100,", "amount", "invalid"),
        ("{uscc},abc,", "amount", "invalid"),
        ("{uscc},1.001,", "amount", "invalid"),
        ("91640100000000000X,10,", "uscc", "invalid"),
        ("{unknown},10,", "uscc", "unknown"),
    ],
)
def test_row_errors_refuse_an_all_or_nothing_file(program, entities, program_admin, line, field, code):
    from tests.factories import valid_uscc

    bad = line.format(uscc=entities[1].uscc, unknown=valid_uscc())
    response = upload(program_admin, program, rows(f"{entities[0].uscc},10,ok", bad))
    assert response.status_code == 400, response.json()
    errors = response.json()["error"]["fields"]
    assert [e["code"] for e in errors[f"rows.2.{field}"]] == [code]
    assert not BulkIssuance.objects.exists()
    assert not Issuance.objects.exists()


@pytest.mark.django_db
def test_duplicate_rows_are_refused(program, entities, program_admin):
    response = upload(program_admin, program, rows(f"{entities[0].uscc},10,", f"{entities[0].uscc},10,"))
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["rows.2.uscc"][0]["code"] == "duplicate"


@pytest.mark.django_db
def test_an_ineligible_entity_is_a_row_error(program, entities, program_admin):
    enterprise = make_org(jurisdiction="640104", category="enterprise")
    response = upload(program_admin, program, rows(f"{enterprise.uscc},10,"))
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["rows.1.uscc"][0]["code"] == "not_eligible"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "encoding", "code"),
    [
        ("uscc,amount,memo\n91640100MA76XQ3P1E,10,宁夏算力券\n", "gbk", "encoding"),
        ("uscc,memo\nx,y\n", "utf-8", "missing_columns"),
        ("uscc,amount\n", "utf-8", "empty"),
        ("uscc,amount,memo\n91640100MA76XQ3P1E,10,a\0b\n", "utf-8", "encoding"),
        ("", "utf-8", "empty"),
    ],
)
def test_a_malformed_file_is_refused(program, program_admin, content, encoding, code):
    response = upload(program_admin, program, content, encoding=encoding)
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["fields"]["file"][0]["code"] == code
    assert not BulkIssuance.objects.exists()


@pytest.mark.django_db
def test_a_utf8_bom_from_excel_is_accepted(program, entities, program_admin):
    response = upload(program_admin, program, "\ufeff" + rows(f"{entities[0].uscc},10,"))
    assert response.status_code == 202, response.json()


@pytest.mark.django_db
def test_valid_rows_only_issues_the_good_rows_and_reports_the_rest(
    program, entities, program_admin, django_capture_on_commit_callbacks
):
    text = rows(f"{entities[0].uscc},10,", f"{entities[1].uscc},zero,", f"{entities[2].uscc},20,")
    response = upload(program_admin, program, text, mode="valid_rows_only", capture=django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.json()
    bulk = BulkIssuance.objects.get()
    assert (bulk.status, bulk.total_rows, bulk.succeeded_rows) == ("completed", 2, 2)
    assert response.json()["rejected_rows"] == [
        {"row": 2, "fields": {"amount": response.json()["rejected_rows"][0]["fields"]["amount"]}}
    ]


@pytest.mark.django_db
def test_caps_apply_per_row_in_valid_rows_only_mode(
    program, entities, program_admin, django_capture_on_commit_callbacks
):
    # given rows that together exceed the 1,000 yuan budget: 4 x 300 = 1,200
    text = rows(*(f"{e.uscc},300," for e in entities))
    # when
    upload(program_admin, program, text, mode="valid_rows_only", capture=django_capture_on_commit_callbacks)
    # then three are issued and the fourth is refused for the budget
    bulk = BulkIssuance.objects.get()
    assert (bulk.succeeded_rows, bulk.failed_rows) == (3, 1)
    assert Issuance.objects.get(status="failed").failure_code == "program_budget_exceeded"


@pytest.mark.django_db
def test_all_or_nothing_issues_nothing_when_a_cap_refuses_a_row(
    program, entities, program_admin, django_capture_on_commit_callbacks
):
    text = rows(*(f"{e.uscc},300," for e in entities))
    upload(program_admin, program, text, capture=django_capture_on_commit_callbacks)
    bulk = BulkIssuance.objects.get()
    assert (bulk.status, bulk.succeeded_rows, bulk.failed_rows) == ("failed", 0, 4)
    assert not Voucher.objects.exists()
    assert set(Issuance.objects.values_list("failure_code", flat=True)) == {"program_budget_exceeded", "batch_aborted"}
    assert not EntityYearTotal.objects.filter(issued__gt=0).exists()


@pytest.mark.django_db
def test_a_rerun_is_harmless(program, entities, program_admin, django_capture_on_commit_callbacks):
    from voucher_service.vouchers.tasks import run_bulk_issuance

    upload(program_admin, program, rows(f"{entities[0].uscc},10,"), capture=django_capture_on_commit_callbacks)
    bulk = BulkIssuance.objects.get()
    assert run_bulk_issuance.delay(bulk.pk).get() == "completed"
    assert Voucher.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "expected"),
    [("program_admin", 202), ("reviewer", 403), ("finance", 403), ("applicant", 403), ("foreign_admin", 400)],
)
def test_who_may_upload(request, program, entities, persona, expected):
    response = upload(request.getfixturevalue(persona), program, rows(f"{entities[0].uscc},10,"))
    assert response.status_code == expected, response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["99999999999999999999999999999", "1" + "0" * 70])
def test_an_absurd_amount_is_a_row_error_not_a_crash(program, entities, program_admin, amount):
    response = upload(program_admin, program, rows(f"{entities[0].uscc},{amount},"))
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["rows.1.amount"][0]["code"] == "max_value"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", 'Send an amount in yuan as a decimal string with at most two decimals, such as "1000.00".'),
        ("zh-hans", '金额以元为单位，用最多两位小数的十进制字符串表示，例如 "1000.00"。'),
    ],
)
def test_row_errors_are_sentences_in_the_readers_language(program, entities, program_admin, language, message):
    # given a row whose amount has three decimals (it used to answer with a Python repr: Decimal('12.345'))
    body = {"program": program.pk, "file": csv_file(rows(f"{entities[0].uscc},12.345,"))}
    # when
    response = client_for(program_admin).post(URL, body, format="multipart", HTTP_ACCEPT_LANGUAGE=language)
    # then
    assert response.status_code == 400
    [error] = response.json()["error"]["fields"]["rows.1.amount"]
    assert error == {"code": "invalid", "message": message}


@pytest.mark.django_db
def test_a_malformed_csv_names_its_line_in_the_readers_language(program, entities, program_admin):
    # given a third line with a field longer than the csv module takes (it used to quote the module's English)
    text = rows(f"{entities[0].uscc},1,ok", f'{entities[1].uscc},1,"{"x" * 200_000}"')
    body = {"program": program.pk, "file": csv_file(text)}
    en = client_for(program_admin).post(URL, body, format="multipart", HTTP_ACCEPT_LANGUAGE="en")
    body = {"program": program.pk, "file": csv_file(text)}
    zh = client_for(program_admin).post(URL, body, format="multipart", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert en.status_code == zh.status_code == 400
    [en_error] = en.json()["error"]["fields"]["file"]
    [zh_error] = zh.json()["error"]["fields"]["file"]
    assert en_error["message"] == "The file is not a well-formed CSV (line 3): check its quotes and separators."
    assert "第 3 行" in zh_error["message"]
    assert "131072" not in en_error["message"]


@pytest.mark.django_db
def test_a_field_too_long_for_csv_is_a_file_error(program, entities, program_admin):
    response = upload(program_admin, program, rows(f'{entities[0].uscc},1,"{"x" * 200_000}"'))
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"][0]["code"] == "invalid"


@pytest.mark.django_db
def test_a_file_over_the_size_limit_is_refused_before_reading(program, program_admin, monkeypatch):
    from voucher_service.vouchers.api import serializers

    monkeypatch.setattr(serializers, "MAX_BYTES", 10)
    response = upload(program_admin, program, rows("x,1,"))
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"][0]["code"] == "too_large"


@pytest.mark.django_db
def test_an_entity_outside_the_jurisdiction_looks_exactly_like_an_unknown_code(program, entities, program_admin):
    # given a Baoding entity's real code and a valid code nobody has (issue 10, item 11: the answers differed)
    from tests.factories import valid_uscc

    baoding = make_org(jurisdiction="130602", name="保定算力应用有限公司")
    text = rows(f"{entities[0].uscc},10,", f"{baoding.uscc},10,", f"{valid_uscc()},10,")
    # when
    response = upload(program_admin, program, text)
    # then rows 2 and 3 get one and the same error
    assert response.status_code == 400
    errors = response.json()["error"]["fields"]
    assert errors["rows.2.uscc"] == errors["rows.3.uscc"]
    assert errors["rows.2.uscc"][0]["code"] == "unknown"
    assert "rows.1.uscc" not in errors


@pytest.mark.django_db
def test_the_same_file_twice_for_one_program_and_year_is_a_409_naming_the_first(
    program, entities, program_admin, django_capture_on_commit_callbacks
):
    # given a file uploaded and issued
    text = rows(f"{entities[0].uscc},10,", f"{entities[1].uscc},20,")
    first = upload(program_admin, program, text, capture=django_capture_on_commit_callbacks)
    assert first.status_code == 202, first.json()
    # when the same file is uploaded again (a new request, not a retry with the same Idempotency-Key)
    second = client_for(program_admin).post(
        URL, {"program": program.pk, "file": csv_file(text)}, format="multipart", HTTP_ACCEPT_LANGUAGE="en"
    )
    # then it is refused, naming the earlier upload, and nothing more is issued
    assert second.status_code == 409, second.json()
    error = second.json()["error"]
    assert error["code"] == "duplicate_file"
    assert error["duplicate_of"] == first.json()["id"]
    assert f"bulk issuance {first.json()['id']}" in error["message"]
    assert "vouchers.csv" in error["message"]
    assert "allow_duplicate_file" in error["message"]
    assert error["fields"]["file"][0]["code"] == "duplicate_file"
    assert BulkIssuance.objects.count() == 1
    assert Voucher.objects.count() == 2


@pytest.mark.django_db
def test_allow_duplicate_file_issues_the_same_file_again(
    program, entities, program_admin, django_capture_on_commit_callbacks
):
    text = rows(f"{entities[0].uscc},10,")
    first = upload(program_admin, program, text, capture=django_capture_on_commit_callbacks)
    again = upload(
        program_admin, program, text, capture=django_capture_on_commit_callbacks, allow_duplicate_file="true"
    )
    assert again.status_code == 202, again.json()
    assert Voucher.objects.count() == 2
    from accounts.models import AuditEvent

    event = AuditEvent.objects.filter(action="bulk_issuance.create").order_by("-id").first()
    assert event.after["duplicate_of"] == first.json()["id"]


@pytest.mark.django_db
def test_a_file_that_issued_nothing_may_be_sent_again(program, entities, program_admin, monkeypatch):
    # given the first upload of the file failed as a whole (nothing issued)
    text = rows(f"{entities[0].uscc},10,")
    first = upload(program_admin, program, text)
    BulkIssuance.objects.filter(pk=first.json()["id"]).update(status="failed")
    # when it is sent again, then it is accepted
    assert upload(program_admin, program, text).status_code == 202


@pytest.mark.django_db
def test_allow_duplicate_file_is_true_or_false(program, entities, program_admin):
    response = upload(program_admin, program, rows(f"{entities[0].uscc},10,"), allow_duplicate_file="yes")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["allow_duplicate_file"][0]["code"] == "invalid_type"
