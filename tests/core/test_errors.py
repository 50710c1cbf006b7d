"""core.errors: a code enum whose members carry their HTTP status, and the one exception base."""

from __future__ import annotations

from core.errors import ErrorCode, ServiceError, field_error


class ExampleCode(ErrorCode):
    GONE = "example_gone", 410
    TAKEN = "example_taken", 409


def test_a_code_is_its_string_and_carries_its_status():
    # given / when / then
    assert ExampleCode.GONE == "example_gone"
    assert str(ExampleCode.TAKEN) == "example_taken"
    assert (ExampleCode.GONE.http_status, ExampleCode.TAKEN.http_status) == (410, 409)
    assert ExampleCode("example_taken") is ExampleCode.TAKEN


def test_a_refusal_carries_code_status_message_fields_and_details():
    # given
    fields = field_error("amount", "max_value", "At most 10.")
    # when
    refusal = ServiceError(ExampleCode.TAKEN, "Taken.", fields=fields, holder=3)
    # then
    assert (refusal.code, refusal.http_status, str(refusal)) == (ExampleCode.TAKEN, 409, "Taken.")
    assert refusal.fields == {"amount": [{"code": "max_value", "message": "At most 10."}]}
    assert refusal.details == {"holder": 3}


def test_every_domain_code_has_a_status_an_api_may_answer():
    # given every code enum of the project
    from accounts.errors import AccountsErrorCode
    from ledger.errors import LedgerErrorCode
    from voucher_service.api.errors import ApiErrorCode
    from voucher_service.programs.errors import ProgramErrorCode
    from voucher_service.vouchers.errors import VoucherErrorCode

    enums = [AccountsErrorCode, LedgerErrorCode, ApiErrorCode, ProgramErrorCode, VoucherErrorCode]
    # then each member is a client error with a non-empty code
    for enum in enums:
        for member in enum:
            assert 400 <= member.http_status < 500, member
            assert member.value, member
