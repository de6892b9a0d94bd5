"""Checks on uploaded files: the type by content (magic bytes), never by what the client
declares, and a stored filename with no path in it."""

from __future__ import annotations

import re
import unicodedata

# Magic numbers of the document types evidence may be uploaded as.
DOCUMENT_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


def sniff_document(head: bytes) -> str | None:
    """The allowed type these bytes are, or None."""
    for signature, content_type in DOCUMENT_SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


_UNSAFE = re.compile(r"[\x00-\x1f\x7f\"<>:|?*]")


def safe_filename(name: str | None, *, default: str = "file", max_length: int = 200) -> str:
    """The last path part only (either slash), no control or reserved characters, not empty
    and not a dot-name; kept for display and downloads, never used as a path on disk."""
    base = (name or "").replace("\\", "/").split("/")[-1]
    base = unicodedata.normalize("NFC", _UNSAFE.sub("", base)).strip().lstrip(".")
    return base[:max_length] or default
