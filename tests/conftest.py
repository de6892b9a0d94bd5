"""Shared fixtures. Server fixtures live in tests/server/conftest.py."""

from __future__ import annotations

import pytest

from server.wiring import install_domain_hooks


@pytest.fixture(autouse=True, scope="session")
def _domain_hooks() -> None:
    """Tests open alerts straight through the services, in this process: it is wired as a
    server process is (the on-call chain and the responder's link hang on alert hooks), not
    only once some earlier test happened to build an app."""
    install_domain_hooks()
