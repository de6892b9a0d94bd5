"""A simulated glucose meter (service 0x1808) that answers the Record Access Control Point.

Records are kept with their sequence numbers. Report-all, report ≥ N, report first/last and
report-count are answered as the Glucose Profile describes: the records as notifications on
0x2A18 (each followed by its 0x2A34 context when it has one), then a response code indication
on 0x2A52 (success, or "no records found").
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bumble import att
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, Service

from device_agent.gatt import glucose, racp
from device_agent.sim.peripheral import SimulatedPeripheral, guarded_cccd, uuid16

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredRecord:
    sequence_number: int
    measurement: bytes
    context: bytes | None


class SimulatedGlucoseMeter(SimulatedPeripheral):
    service_uuids = (uuid16(glucose.SERVICE_UUID),)

    def __init__(
        self,
        *,
        address: str = "C1:B0:0D:00:00:03",
        name: str = "Glucose-Sim",
        require_bonding: bool = False,
        battery: int | None = 70,
    ) -> None:
        super().__init__(address=address, name=name, battery=battery)
        self.require_bonding = require_bonding
        self.records: list[StoredRecord] = []
        self.requests: list[bytes] = []
        self._next_sequence = 1
        self._measurement: Characteristic[bytes] | None = None
        self._context: Characteristic[bytes] | None = None
        self._racp: Characteristic[bytes] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def add_record(
        self,
        *,
        mg_dl: float,
        base_time: datetime,
        control_solution: bool = False,
        meal: int | None = None,
    ) -> int:
        """Store a reading; returns its sequence number."""
        sequence = self._next_sequence
        self._next_sequence += 1
        sample_type = (
            glucose.SampleType.CONTROL_SOLUTION
            if control_solution
            else glucose.SampleType.CAPILLARY_PLASMA
        )
        location = (
            glucose.SampleLocation.CONTROL_SOLUTION
            if control_solution
            else glucose.SampleLocation.FINGER
        )
        context = (
            glucose.encode_context(sequence_number=sequence, meal=meal)
            if meal is not None
            else None
        )
        measurement = glucose.encode_measurement(
            sequence_number=sequence,
            base_time=base_time,
            mg_dl=mg_dl,
            sample_type=sample_type,
            sample_location=location,
            context_follows=context is not None,
        )
        self.records.append(StoredRecord(sequence, measurement, context))
        return sequence

    def _allowed(self, connection: Connection) -> bool:
        return not self.require_bonding or bool(connection.encryption)

    def build_services(self, device: Device) -> list[Service]:
        notify = Characteristic.Properties.NOTIFY
        self._measurement = Characteristic(
            uuid16(glucose.MEASUREMENT_UUID), notify, Characteristic.READABLE, b""
        )
        self._measurement.descriptors = [guarded_cccd(device, self._measurement, self._allowed)]
        self._context = Characteristic(
            uuid16(glucose.CONTEXT_UUID), notify, Characteristic.READABLE, b""
        )
        feature: Characteristic[bytes] = Characteristic(
            uuid16(glucose.FEATURE_UUID),
            Characteristic.Properties.READ,
            Characteristic.READABLE,
            bytes([0x00, 0x04]),  # multiple bond support
        )
        self._racp = Characteristic(
            uuid16(racp.UUID),
            Characteristic.Properties.WRITE | Characteristic.Properties.INDICATE,
            Characteristic.WRITEABLE,
            att.AttributeValue(write=self._on_racp_write),
        )
        self._racp.descriptors = [guarded_cccd(device, self._racp, self._allowed)]
        return [
            Service(
                uuid16(glucose.SERVICE_UUID),
                [self._measurement, self._context, feature, self._racp],
            )
        ]

    def _on_racp_write(self, connection: Connection, value: Any) -> None:
        request = bytes(value)
        self.requests.append(request)
        # Answer after the write response, as a meter does.
        task = asyncio.create_task(self._answer(connection, request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _select(self, operator: int, operand: bytes) -> list[StoredRecord] | None:
        ordered = sorted(self.records, key=lambda r: r.sequence_number)
        if operator == racp.Operator.ALL:
            return ordered
        if operator == racp.Operator.FIRST:
            return ordered[:1]
        if operator == racp.Operator.LAST:
            return ordered[-1:]
        if (
            operator == racp.Operator.GREATER_OR_EQUAL
            and len(operand) == 3
            and operand[0] == racp.FilterType.SEQUENCE_NUMBER
        ):
            minimum = int.from_bytes(operand[1:3], "little")
            return [r for r in ordered if r.sequence_number >= minimum]
        return None

    async def _answer(self, connection: Connection, request: bytes) -> None:
        device = self._require_device()
        assert self._measurement and self._context and self._racp
        if len(request) < 2:
            await device.indicate_subscriber(
                connection,
                self._racp,
                racp.encode_response(
                    request[0] if request else 0, racp.ResponseCode.INVALID_OPERATOR
                ),
            )
            return
        opcode, operator, operand = request[0], request[1], request[2:]
        if opcode == racp.Opcode.REPORT_NUMBER_OF_RECORDS:
            selected = self._select(operator, operand)
            count = len(selected) if selected is not None else 0
            await device.indicate_subscriber(
                connection, self._racp, racp.encode_number_of_records(count)
            )
            return
        if opcode != racp.Opcode.REPORT_STORED_RECORDS:
            await device.indicate_subscriber(
                connection,
                self._racp,
                racp.encode_response(opcode, racp.ResponseCode.OP_CODE_NOT_SUPPORTED),
            )
            return
        selected = self._select(operator, operand)
        if selected is None:
            code = racp.ResponseCode.OPERATOR_NOT_SUPPORTED
        elif not selected:
            code = racp.ResponseCode.NO_RECORDS_FOUND
        else:
            code = racp.ResponseCode.SUCCESS
        for record in selected or []:
            await device.notify_subscriber(connection, self._measurement, record.measurement)
            if record.context is not None:
                await device.notify_subscriber(connection, self._context, record.context)
        await device.indicate_subscriber(connection, self._racp, racp.encode_response(opcode, code))
