"""A queue row names what is wrong in at most two reasons; the card keeps them all."""

from __future__ import annotations

from sqlmodel import Session

import triage
from server.alerts import queries
from server.alerts.schemas import ReasonOut
from tests.support.alerts import raise_panic_alert, raise_vitals_alert
from tests.support.records import make_elder

CRISIS = {"systolic": 185, "diastolic": 125, "pulse": 135}


def test_a_vitals_row_shows_the_findings_and_leaves_the_rest_to_the_card(
    session: Session,
) -> None:
    raise_vitals_alert(session, make_elder(session).id, CRISIS)
    [alert] = queries.open_queue(session, locale="en")
    # The plain findings, not the partial NEWS2 band (a clinician's reading, on the card).
    assert [r.key for r in alert.row_reasons] == [
        "triage.bp.crisis",
        "triage.news2.single_parameter.pulse",
    ]
    assert alert.row_reasons[0].text == "Hypertensive crisis (185/125 mmHg)"
    assert "triage.news2.partial.low_medium" in [r.key for r in alert.reasons]
    every = [r.key for r in alert.reasons]
    assert "triage.decision_support" in every
    assert "triage.news2.missing.spo2" in every
    assert "triage.bp.remeasure" in every


def test_a_test_press_row_does_not_repeat_the_kind_or_the_test_badge(session: Session) -> None:
    raise_panic_alert(session, make_elder(session).id, test=True)
    [alert] = queries.open_queue(session, locale="th")
    assert [r.key for r in alert.reasons] == ["triage.event.test", "triage.event.panic"]
    assert alert.row_reasons == []


def test_a_row_never_has_more_than_two_reasons() -> None:
    reasons = [
        ReasonOut(key=key, text=key)
        for key in (
            "triage.decision_support",
            "triage.news2.missing.pulse",
            "triage.profile.alone_without_carer",
            "triage.profile.fall_risk",
            "triage.profile.age",
        )
    ]
    assert [r.key for r in queries.row_reasons(reasons)] == [
        "triage.profile.alone_without_carer",
        "triage.profile.fall_risk",
    ]


def test_a_partial_news2_band_is_named_when_nothing_plainer_is() -> None:
    reasons = [
        ReasonOut(key="triage.news2.partial.medium", text="band"),
        ReasonOut(key="triage.news2.missing.pulse", text="missing"),
    ]
    assert [r.key for r in queries.row_reasons(reasons)] == ["triage.news2.partial.medium"]


def test_every_card_only_key_is_one_triage_can_give() -> None:
    assert queries.CARD_ONLY_REASONS <= triage.REASON_KEYS
    for prefix in queries.CARD_ONLY_PREFIXES:
        assert any(key.startswith(prefix) for key in triage.REASON_KEYS), prefix


def test_reading_units_are_words_not_codes() -> None:
    assert queries.unit_text("mm[Hg]", "th") == "มม.ปรอท"
    assert queries.unit_text("/min", "th") == "ครั้ง/นาที"
    assert queries.unit_text("Cel", "th") == "องศาเซลเซียส"
    assert queries.unit_text("Cel", "en") == "°C"
    assert queries.unit_text("mg/dL", "th") == "มก./ดล."
