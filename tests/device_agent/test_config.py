"""agent.toml → typed config, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from device_agent.config import (
    BleDeviceSpec,
    ConfigError,
    DeviceKind,
    LocalButtonSpec,
    endpoints,
    load_config,
    parse_config,
)

GOOD = """
server_url = "https://care.example.go.th/"
token = "hub-token-123456"
outbox_path = "/tmp/x.sqlite3"
heartbeat_interval_s = 30

[[devices]]
name = "bp-cuff"
kind = "bp"
address = "a4:c1:38:00:11:22"

[[devices]]
name = "panic"
kind = "bthome_button"
address = "A4:C1:38:33:44:55"
bind_key = "231d39c1d7cc1ab1aee224cd096db932"

[[devices]]
name = "wired"
kind = "local_button"
source = "stdin"

[uplink]
ws_failures_before_http = 5

[simulate]
hubs = 3
"""


BASE = {"server_url": "http://x", "token": "12345678"}
ADDRESS = "AA:BB:CC:DD:EE:FF"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return path


def test_a_good_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.server_url == "https://care.example.go.th"
    assert config.read_token() == "hub-token-123456"
    assert [d.kind for d in config.devices] == [
        DeviceKind.BLOOD_PRESSURE,
        DeviceKind.BTHOME_BUTTON,
        DeviceKind.LOCAL_BUTTON,
    ]
    assert config.devices[0].address == "A4:C1:38:00:11:22"
    assert config.uplink.ws_failures_before_http == 5
    assert config.simulate.hubs == 3


def test_token_file_is_read_and_stripped(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("from-a-file-123\n")
    config = parse_config({"server_url": "http://h:1", "token_file": str(token)})
    assert config.read_token() == "from-a-file-123"
    token.write_text("")
    with pytest.raises(ConfigError, match="is empty"):
        config.read_token()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"server_url": "ftp://x", "token": "12345678"}, "server_url: must be an http"),
        ({"server_url": "http://x"}, "exactly one of 'token' or 'token_file'"),
        ({"server_url": "http://x", "token": "12345678", "colour": 1}, "colour: unknown key"),
        (
            {
                "server_url": "http://x",
                "token": "12345678",
                "devices": [{"name": "a", "kind": "bp"}],
            },
            "devices[0]: a bp device needs 'address'",
        ),
        (
            {
                "server_url": "http://x",
                "token": "12345678",
                "devices": [{"name": "a", "kind": "toaster"}],
            },
            "devices[0].kind",
        ),
        (
            {
                "server_url": "http://x",
                "token": "12345678",
                "devices": [{"name": "a", "kind": "bp", "address": "nope"}],
            },
            "devices[0].address: must be a BLE address",
        ),
        (
            {
                "server_url": "http://x",
                "token": "12345678",
                "devices": [
                    {
                        "name": "a",
                        "kind": "bp",
                        "address": "AA:BB:CC:DD:EE:FF",
                        "bind_key": "0" * 32,
                    }
                ],
            },
            "only for bthome_button",
        ),
        (
            {
                "server_url": "http://x",
                "token": "12345678",
                "devices": [
                    {"name": "a", "kind": "local_button", "source": "stdin"},
                    {"name": "a", "kind": "local_button", "source": "stdin"},
                ],
            },
            "device names must be unique: a",
        ),
        (
            {"server_url": "http://x", "token": "12345678", "uplink": {"batch_size": 0}},
            "uplink.batch_size",
        ),
    ],
)
def test_bad_values_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="agent.toml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("agent.toml: ")


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "server_url = "))
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.toml")


def test_endpoints_from_any_scheme() -> None:
    assert endpoints("http://h:8000") == (
        "ws://h:8000/api/v1/agent/ws",
        "http://h:8000/api/v1/agent/events",
    )
    assert endpoints("wss://h/base/") == (
        "wss://h/base/api/v1/agent/ws",
        "https://h/base/api/v1/agent/events",
    )


def test_devices_are_ble_specs_or_local_buttons_and_state_sits_by_the_outbox() -> None:
    config = parse_config(
        {
            **BASE,
            "outbox_path": "/var/lib/hub/outbox.sqlite3",
            "devices": [
                {
                    "name": "panic",
                    "kind": "bthome_button",
                    "address": "a4:c1:38:33:44:55",
                    "options": {"test_press": "double"},
                },
                {"name": "ox", "kind": "oximeter", "address": ADDRESS, "driver": "berrymed"},
                {"name": "wired", "kind": "local_button", "source": "stdin"},
            ],
        }
    )
    panic, ox = config.ble_devices
    assert isinstance(panic, BleDeviceSpec)
    assert panic.device_id == "A4:C1:38:33:44:55"
    assert panic.options == {"test_press": "double"}
    assert ox.driver == "berrymed"
    (wired,) = config.local_buttons
    assert isinstance(wired, LocalButtonSpec) and wired.device_id == "wired"
    assert config.ble_state_path == Path("/var/lib/hub/ble-state.sqlite3")
    assert not config.simulate.ble


@pytest.mark.parametrize(
    ("device", "message"),
    [
        ({"name": "a", "kind": "toaster"}, "devices[0].kind: must be one of bp, oximeter"),
        ({"kind": "bp", "address": ADDRESS}, "devices[0].name: Field required"),
        (
            {"name": "a", "kind": "local_button", "source": "stdin", "address": ADDRESS},
            "devices[0]: a local_button has no 'address'",
        ),
        ({"name": "a", "kind": "local_button"}, "devices[0]: a local_button needs 'source'"),
        (
            {"name": "a", "kind": "bp", "address": ADDRESS, "source": "stdin"},
            "devices[0].source: unknown key",
        ),
        (
            {"name": "a", "kind": "bp", "address": ADDRESS, "options": {"x": [1]}},
            "devices[0].options.x",
        ),
    ],
)
def test_bad_devices_name_the_entry_and_key(device: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({**BASE, "devices": [device]})
    assert message in str(caught.value)
    # The union's internal tag never leaks into what a person reads.
    assert "devices[0].bp" not in str(caught.value)
    assert "devices[0].local_button" not in str(caught.value)


def test_the_emergency_deadline_and_the_cellular_modem() -> None:
    base = {"server_url": "https://care.example.go.th", "token": "hub-token-123456"}
    config = parse_config(base)
    assert config.uplink.panic_ack_deadline_s <= 3 < config.uplink.ack_timeout_s
    assert config.cellular is None
    config = parse_config(
        {**base, "cellular": {"modem": "/dev/ttyUSB2", "centre_number": "+6621234567"}}
    )
    assert config.cellular is not None and config.cellular.sms_after_s == 5.0
    with pytest.raises(ConfigError, match=r"cellular\.centre_number"):
        parse_config({**base, "cellular": {"modem": "/dev/ttyUSB2", "centre_number": "021234567"}})
    with pytest.raises(ConfigError, match=r"uplink\.panic_ack_deadline_s"):
        parse_config({**base, "uplink": {"panic_ack_deadline_s": 60}})
