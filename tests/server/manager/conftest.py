"""The care team fixtures (tests/support/care_team.py) for these tests."""

from tests.support.care_team import settings, team

__all__ = ["settings", "team"]
