"""Standard Glucose service 0x1808 with the Record Access Control Point.

Each session asks only for records after the last sequence number already forwarded (kept
in ``BleState`` so it survives restarts), forwards each reading once in mg/dL, drops
control-solution samples, and advances the stored sequence only after the sink has the event.
"""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid5

from bleak import BleakClient

from device_agent.ble.adverts import Advert, uuid16
from device_agent.ble.drivers.base import ConnectedDriver, StreamConsumer, clock_suspect
from device_agent.gatt import ParseError, glucose, racp
from eldercare_protocol import Measurement, MeasurementCode, VitalsEvent, VitalsPayload

GLUCOSE_NAMESPACE = UUID("0f7c4e52-3a59-4d0e-9a55-1c1f3d2b6a10")
MEAL_NAMES = {1: "preprandial", 2: "postprandial", 3: "fasting", 4: "casual", 5: "bedtime"}


def match(advert: Advert) -> int:
    return 100 if advert.has_service(uuid16(glucose.SERVICE_UUID)) else 0


class GlucoseMeterDriver(ConnectedDriver):
    name = "glucose"

    async def session(self, client: BleakClient) -> None:
        last = self.ctx.state.last_glucose_sequence(self.device_id)
        records: list[tuple[bytes, glucose.Measurement]] = []
        contexts: dict[int, glucose.Context] = {}
        done: asyncio.Future[racp.Response | racp.NumberOfRecords] = (
            asyncio.get_running_loop().create_future()
        )

        async def on_measurement(data: bytes) -> None:
            try:
                records.append((data, glucose.parse_measurement(data)))
            except ParseError as exc:
                self.log.warning(
                    "%s: dropped malformed record %s: %s", self.spec.name, data.hex(), exc
                )

        async def on_context(data: bytes) -> None:
            try:
                context = glucose.parse_context(data)
            except ParseError as exc:
                self.log.warning("%s: bad context %s: %s", self.spec.name, data.hex(), exc)
                return
            contexts[context.sequence_number] = context

        async def on_racp(data: bytes) -> None:
            try:
                response = racp.parse_response(data)
            except ParseError as exc:
                self.log.warning("%s: bad RACP answer %s: %s", self.spec.name, data.hex(), exc)
                return
            if not done.done():
                done.set_result(response)

        measurements = StreamConsumer(on_measurement)
        context_consumer = StreamConsumer(on_context)
        racp_consumer = StreamConsumer(on_racp)
        try:
            await client.start_notify(uuid16(glucose.MEASUREMENT_UUID), measurements)
            if client.services.get_characteristic(uuid16(glucose.CONTEXT_UUID)) is not None:
                await client.start_notify(uuid16(glucose.CONTEXT_UUID), context_consumer)
            await client.start_notify(uuid16(racp.UUID), racp_consumer)
            request = (
                racp.report_all() if last is None or last >= 0xFFFF else racp.report_after(last)
            )
            await client.write_gatt_char(uuid16(racp.UUID), request, response=True)
            async with asyncio.timeout(max(self.ctx.timing.idle_timeout, 30.0)):
                answer = await done
        finally:
            for consumer in (measurements, context_consumer, racp_consumer):
                await consumer.drain_and_stop()
        if isinstance(answer, racp.Response) and answer.code not in (
            racp.ResponseCode.SUCCESS,
            racp.ResponseCode.NO_RECORDS_FOUND,
        ):
            self.log.warning("%s: RACP refused the request: %s", self.spec.name, answer.code.name)
        await self._forward(records, contexts, last)

    async def _forward(
        self,
        records: list[tuple[bytes, glucose.Measurement]],
        contexts: dict[int, glucose.Context],
        last: int | None,
    ) -> None:
        for raw, record in sorted(records, key=lambda item: item[1].sequence_number):
            sequence = record.sequence_number
            if last is not None and sequence <= last:
                continue  # asked for newer only; a meter that ignores the filter is not trusted
            if record.is_control_solution:
                self.log.info("%s: skipped control-solution record %d", self.spec.name, sequence)
            elif record.mg_dl is None:
                self.log.info("%s: record %d has no concentration", self.spec.name, sequence)
            else:
                await self.emit(self._event(raw, record, contexts.get(sequence)))
            self.ctx.state.set_last_glucose_sequence(self.device_id, sequence)
            last = sequence

    def _event(
        self, raw: bytes, record: glucose.Measurement, context: glucose.Context | None
    ) -> VitalsEvent:
        fields = self.event_fields()
        # A stable id: if the hub dies between emit and saving the sequence, the re-sent
        # reading carries the same idempotency key and the server stores it once.
        fields["id"] = uuid5(
            GLUCOSE_NAMESPACE, f"{self.device_id}/{record.sequence_number}/{raw.hex()}"
        )
        assert record.mg_dl is not None
        flags: dict[str, bool | int | str] = {}
        if record.sample_type is not None:
            flags["sample_type"] = record.sample_type.name.lower()
        if record.sample_location is not None:
            flags["sample_location"] = record.sample_location.name.lower()
        if record.sensor_status:
            flags["sensor_status"] = int(record.sensor_status)
        if context is not None and context.meal is not None:
            flags["meal"] = MEAL_NAMES.get(int(context.meal), str(int(context.meal)))
        return VitalsEvent(
            **fields,
            payload=VitalsPayload(
                measurements=[
                    Measurement(
                        code=MeasurementCode.GLUCOSE, value=round(record.mg_dl, 1), unit="mg/dL"
                    )
                ],
                device_time=record.timestamp,
                device_clock_suspect=clock_suspect(
                    record.timestamp, received=fields["occurred_at"]
                ),
                characteristic="2a18",
                raw_hex=raw.hex(),
                flags=flags,
                sequence_number=record.sequence_number,
            ),
        )
