"""The hubs page in real Chromium: register a hub, see its token once, revoke it."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect
from sqlmodel import Session, select

from server.auth.models import Role, User
from server.devices.config import DevicesSettings
from server.devices.models import Device, DeviceKind, HubToken
from server.devices.service import authenticate_hub
from tests.server.conftest import TEST_PASSWORD
from tests.support.browser import login
from tests.support.hubs import QUIET, make_hub
from tests.support.live import serve
from tests.support.records import make_elder


def test_admin_registers_a_hub_sees_the_token_once_and_revokes_it(
    app: FastAPI, session: Session, users: dict[Role, User], browser: Browser
) -> None:
    elder = make_elder(session, first_name="ลำดวน", last_name="ทองคำ")
    existing = make_hub(session)
    app.state.devices_settings = DevicesSettings(**QUIET)
    with serve(app) as url:
        page = browser.new_page()
        try:
            login(page, url, "admin", TEST_PASSWORD)
            page.goto(f"{url}/admin/devices?lang=en")
            row = page.locator(f"tr[data-hub='{existing.device_id}']")
            expect(row.locator(".status")).to_contain_text("Never connected")

            page.select_option("select[name=elder_id]", str(elder.id))
            page.fill("input[name=label]", "living room")
            page.click("#register-hub button[type=submit]")
            token = page.locator("#token-value").inner_text().strip()
            assert token.startswith("hub_")
            expect(page.locator("#new-token")).to_contain_text("only this once")
            session.expire_all()
            identity = authenticate_hub(session, f"Bearer {token}")
            assert identity is not None and identity.elder_id == elder.id

            page.goto(f"{url}/admin/devices")
            assert page.locator("#token-value").count() == 0
            assert token not in page.content()
            new_row = page.locator(f"tr[data-hub='{identity.device_id}']")
            expect(new_row).to_contain_text("ลำดวน ทองคำ")
            new_row.locator("form button[type=submit]").click()
            expect(page.locator("[role=status]")).to_contain_text(token[:10])
            session.expire_all()
            assert authenticate_hub(session, f"Bearer {token}") is None
            hub = session.exec(select(Device).where(Device.id == identity.device_id)).one()
            assert hub.kind == DeviceKind.HUB and hub.label == "living room"
            assert (
                session.exec(select(HubToken).where(HubToken.device_id == hub.id)).one().revoked_at
            )
        finally:
            page.close()


def test_the_hubs_page_is_for_administrators_only(
    client: TestClient, users: dict[Role, User]
) -> None:
    for role in (Role.DISPATCHER, Role.SUPERVISOR, Role.CAREGIVER):
        client.cookies.set("login_csrf", "x")
        response = client.post(
            "/login",
            data={"username": role.value, "password": TEST_PASSWORD, "login_csrf": "x"},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert client.get("/admin/devices").status_code == 403
        assert client.post("/admin/devices", data={"elder_id": "x"}).status_code == 403
        client.cookies.clear()
