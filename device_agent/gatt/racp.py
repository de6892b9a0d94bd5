"""Record Access Control Point 0x2A52 (Glucose and other record-keeping profiles).

The hub writes ``opcode, operator, [filter type, operand]`` and the device indicates either a
Number of Stored Records response (``05 00 <u16>``) or a Response Code (``06 00 <request
opcode> <code>``). Stored records themselves arrive on their own characteristics (0x2A18 and
0x2A34 for glucose) between the request and the response code.

Enable notifications on the record characteristics and indications on the RACP before writing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from device_agent.gatt._reader import Reader

UUID = 0x2A52


class Opcode(IntEnum):
    REPORT_STORED_RECORDS = 1
    DELETE_STORED_RECORDS = 2
    ABORT_OPERATION = 3
    REPORT_NUMBER_OF_RECORDS = 4
    NUMBER_OF_RECORDS_RESPONSE = 5
    RESPONSE_CODE = 6


class Operator(IntEnum):
    NULL = 0
    ALL = 1
    LESS_OR_EQUAL = 2
    GREATER_OR_EQUAL = 3
    WITHIN_RANGE = 4
    FIRST = 5
    LAST = 6


class FilterType(IntEnum):
    SEQUENCE_NUMBER = 1
    USER_FACING_TIME = 2


class ResponseCode(IntEnum):
    SUCCESS = 1
    OP_CODE_NOT_SUPPORTED = 2
    INVALID_OPERATOR = 3
    OPERATOR_NOT_SUPPORTED = 4
    INVALID_OPERAND = 5
    NO_RECORDS_FOUND = 6
    ABORT_UNSUCCESSFUL = 7
    PROCEDURE_NOT_COMPLETED = 8
    OPERAND_NOT_SUPPORTED = 9


def _u16(value: int, name: str) -> bytes:
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"{name} {value} is outside 0..65535")
    return value.to_bytes(2, "little")


def report_all() -> bytes:
    """Report every stored record: ``01 01``."""
    return bytes([Opcode.REPORT_STORED_RECORDS, Operator.ALL])


def report_newer_than(sequence_number: int) -> bytes:
    """Report records with sequence number ≥ ``sequence_number``: ``01 03 01 <u16>``.

    RACP has no "greater than" operator, so the record with this very number is reported too.
    To fetch only records after the last one stored, use ``report_after`` (or de-duplicate by
    sequence number).
    """
    return bytes(
        [Opcode.REPORT_STORED_RECORDS, Operator.GREATER_OR_EQUAL, FilterType.SEQUENCE_NUMBER]
    ) + _u16(sequence_number, "sequence number")


def report_after(last_sequence_number: int) -> bytes:
    """Report only records after the last one the hub already has (≥ last + 1)."""
    if last_sequence_number >= 0xFFFF:
        raise ValueError("no sequence number can follow 65535; use report_all()")
    return report_newer_than(last_sequence_number + 1)


def report_first() -> bytes:
    return bytes([Opcode.REPORT_STORED_RECORDS, Operator.FIRST])


def report_last() -> bytes:
    return bytes([Opcode.REPORT_STORED_RECORDS, Operator.LAST])


def report_count() -> bytes:
    """Ask how many records are stored: ``04 01`` (answered by ``05 00 <u16>``)."""
    return bytes([Opcode.REPORT_NUMBER_OF_RECORDS, Operator.ALL])


def abort() -> bytes:
    """Abort the running procedure: ``03 00``."""
    return bytes([Opcode.ABORT_OPERATION, Operator.NULL])


def delete_all() -> bytes:
    """Delete every stored record: ``02 01``."""
    return bytes([Opcode.DELETE_STORED_RECORDS, Operator.ALL])


@dataclass(frozen=True, slots=True)
class NumberOfRecords:
    count: int


@dataclass(frozen=True, slots=True)
class Response:
    """A Response Code: the outcome of the request with opcode ``request_opcode``."""

    request_opcode: Opcode
    code: ResponseCode

    @property
    def ok(self) -> bool:
        return self.code is ResponseCode.SUCCESS


def parse_response(data: bytes | bytearray | memoryview) -> NumberOfRecords | Response:
    """Parse an RACP indication. Raises ``ParseError`` for other opcodes or unknown codes.

    The operator byte of a response is defined as Null; devices that put something else there
    are tolerated, since the opcode alone decides the layout.
    """
    reader = Reader(data, what="RACP response")
    opcode = reader.u8("opcode")
    reader.u8("operator")
    if opcode == Opcode.NUMBER_OF_RECORDS_RESPONSE:
        return NumberOfRecords(reader.u16("number_of_records"))
    if opcode == Opcode.RESPONSE_CODE:
        request = reader.u8("request_opcode")
        if request not in Opcode._value2member_map_:
            raise reader.error(
                f"unknown request opcode {request}", field="request_opcode", offset=2
            )
        code = reader.u8("response_code")
        if code not in ResponseCode._value2member_map_:
            raise reader.error(f"unknown response code {code}", field="response_code", offset=3)
        return Response(Opcode(request), ResponseCode(code))
    raise reader.error(
        f"opcode {opcode} is not a response (expected 5 or 6)", field="opcode", offset=0
    )


def encode_number_of_records(count: int) -> bytes:
    """What a device indicates in answer to ``report_count()`` (for simulated peripherals)."""
    return bytes([Opcode.NUMBER_OF_RECORDS_RESPONSE, Operator.NULL]) + _u16(count, "count")


def encode_response(request_opcode: int, code: int) -> bytes:
    """A Response Code indication, e.g. ``encode_response(1, 1)`` → ``06 00 01 01``."""
    return bytes([Opcode.RESPONSE_CODE, Operator.NULL, request_opcode, code])
