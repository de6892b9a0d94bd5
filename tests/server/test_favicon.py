"""Browsers ask every page for an icon; none of them may get a 404 for it."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_favicon_ico_leads_to_the_icon(client: TestClient) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.history and response.history[0].status_code == 301


def test_the_shared_layout_links_an_icon_that_is_there(client: TestClient) -> None:
    html = client.get("/login", headers={"Accept": "text/html"}).text
    found = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html)
    assert found, html[:500]
    icon = client.get(found.group(1))
    assert icon.status_code == 200 and icon.content.startswith(b"<svg")
