import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from device_agent.gatt import ParseError, racp
from device_agent.gatt.racp import NumberOfRecords, Opcode, Response, ResponseCode
from tests.support.gatt import assert_every_truncation_fails, h


def test_request_builders() -> None:
    assert racp.report_all() == b"\x01\x01"
    assert racp.report_newer_than(0x1234) == h("01 03 01 3412")
    assert racp.report_after(41) == h("01 03 01 2A00")
    assert racp.report_count() == h("04 01")
    assert racp.abort() == h("03 00")
    assert racp.delete_all() == h("02 01")
    assert racp.report_first() == h("01 05")
    assert racp.report_last() == h("01 06")


def test_request_builders_reject_out_of_range_sequence_numbers() -> None:
    with pytest.raises(ValueError, match="65535"):
        racp.report_newer_than(0x10000)
    with pytest.raises(ValueError, match="65535"):
        racp.report_after(0xFFFF)


def test_number_of_records() -> None:
    assert racp.parse_response(h("05 00 0300")) == NumberOfRecords(3)
    assert racp.parse_response(h("05 00 FFFF")) == NumberOfRecords(65535)
    assert_every_truncation_fails(racp.parse_response, h("05 00 0300"))


@pytest.mark.parametrize(
    ("code", "member"),
    [
        (1, ResponseCode.SUCCESS),
        (2, ResponseCode.OP_CODE_NOT_SUPPORTED),
        (3, ResponseCode.INVALID_OPERATOR),
        (4, ResponseCode.OPERATOR_NOT_SUPPORTED),
        (5, ResponseCode.INVALID_OPERAND),
        (6, ResponseCode.NO_RECORDS_FOUND),
        (7, ResponseCode.ABORT_UNSUCCESSFUL),
        (8, ResponseCode.PROCEDURE_NOT_COMPLETED),
        (9, ResponseCode.OPERAND_NOT_SUPPORTED),
    ],
)
def test_response_codes(code: int, member: ResponseCode) -> None:
    response = racp.parse_response(bytes([6, 0, 1, code]))
    assert response == Response(Opcode.REPORT_STORED_RECORDS, member)
    assert isinstance(response, Response)
    assert response.ok is (member is ResponseCode.SUCCESS)


def test_published_completions() -> None:
    assert racp.parse_response(h("06 00 01 01")) == Response(
        Opcode.REPORT_STORED_RECORDS, ResponseCode.SUCCESS
    )
    assert racp.parse_response(h("06 00 01 06")) == Response(
        Opcode.REPORT_STORED_RECORDS, ResponseCode.NO_RECORDS_FOUND
    )
    assert_every_truncation_fails(racp.parse_response, h("06 00 01 06"))


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (h("01 01"), "opcode"),
        (h("07 00"), "opcode"),
        (h("06 00 09 01"), "request_opcode"),
        (h("06 00 01 00"), "response_code"),
        (h("06 00 01 0A"), "response_code"),
    ],
)
def test_malformed_responses_name_the_field(data: bytes, field: str) -> None:
    with pytest.raises(ParseError) as caught:
        racp.parse_response(data)
    assert caught.value.field == field


def test_encoders_for_simulated_meters() -> None:
    assert racp.encode_number_of_records(7) == h("05 00 0700")
    assert racp.encode_response(Opcode.REPORT_STORED_RECORDS, ResponseCode.SUCCESS) == h(
        "06 00 01 01"
    )
    assert racp.parse_response(racp.encode_number_of_records(7)) == NumberOfRecords(7)


@given(st.binary(max_size=64))
def test_fuzz(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        racp.parse_response(data)
