"""How the domains react to each other's events, wired once per process.

Alerts call the on-call chain, the responder's link and the hub's spoken prompts through
hook lists (they build on
alerts, so alerts cannot import them). Any process that opens or dispatches alerts must be
wired the same way, or its alerts silently skip the chain: the web server (`create_app`)
and the reading worker (`eldercare worker`, which raises alerts from home readings) both
call `install_domain_hooks` before they do anything else.
"""

from __future__ import annotations

from server.devices.downlink import install as install_downlinks
from server.oncall import install as install_oncall
from server.responders import install as install_responders


def install_domain_hooks() -> None:
    """Registers every cross-domain hook (idempotent)."""
    install_oncall()
    install_responders()
    install_downlinks()
