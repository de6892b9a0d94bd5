"""Notifications (SMS, voice, console) behind one protocol.

The default `RecordingNotifier` writes each message to the `notifications` table in the
caller's transaction and logs that it would send it (recipient masked, never the params: they
may name a person). A Twilio notifier implements the same protocol later; `place_call` then
carries an acknowledge-by-keypress callback URL.
"""

from server.notify.service import (
    Notifier,
    RecordingNotifier,
    get_notifier,
    mask_recipient,
    render_message,
    set_notifier,
)

__all__ = [
    "Notifier",
    "RecordingNotifier",
    "get_notifier",
    "mask_recipient",
    "render_message",
    "set_notifier",
]
