"""Standard Glucose service 0x1808 with the Record Access Control Point.

Each session asks only for records after the last sequence number already forwarded (kept
in ``BleState`` so it survives restarts), forwards each reading once in mg/dL, drops
control-solution samples, and advances the stored sequence only after the sink has the event.
"""

from __future__ import annotations

import asyncio

from bleak import BleakClient

from device_agent.ble import payloads
from device_agent.ble.adverts import Advert, uuid16
from device_agent.ble.drivers.base import ConnectedDriver, StreamConsumer
from device_agent.gatt import ParseError, glucose, racp
from eldercare_protocol import VitalsEvent


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
            fields = self.event_fields()
            payload = payloads.glucose_payload(
                raw, received=fields["occurred_at"], context=contexts.get(sequence)
            )
            if payload is None:
                self.log.info(
                    "%s: record %d is no reading (control solution or no concentration)",
                    self.spec.name,
                    sequence,
                )
            else:
                fields["id"] = payloads.glucose_event_id(self.device_id, raw)
                await self.emit(VitalsEvent(**fields, payload=payload))
            self.ctx.state.set_last_glucose_sequence(self.device_id, sequence)
            last = sequence
