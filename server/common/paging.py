"""Bounds on paging parameters: a huge page number or offset must be a 422 naming the field,
never a database overflow (a 500)."""

from __future__ import annotations

# Far beyond any real listing (25 a page × 100,000 pages), far below a 64-bit overflow.
MAX_PAGE = 100_000
MAX_OFFSET = 10_000_000
