"""Pulled readings are held as one IndexedDB row per elder and month: a first pull fills the
blocks, a later pull (since the cursor) joins its readings to the block they belong in, and
the elder's page reads them back, with readings made on the tablet beside them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from playwright.sync_api import BrowserContext
from sqlmodel import Session

from server.elders.models import Elder
from server.observations import service as observations
from server.observations.models import ObservationSource
from server.sync.pull import encode_cursor
from tests.server.careapp.conftest import Team, idb_dump, sign_in, wait_pulled


def reading_at(session: Session, elder: Elder, at: datetime, systolic: int) -> str:
    obs_id = uuid.uuid4()
    observations.record_observations(session, [observations.NewObservation(
        elder=elder, source=ObservationSource.DEVICE, observed_at=at, observation_id=obs_id,
        readings=[observations.Reading("systolic", systolic, "mm[Hg]"),
                  observations.Reading("diastolic", 78, "mm[Hg]"),
                  observations.Reading("pulse", 72, "/min")],
    )])  # fmt: skip
    session.commit()
    return str(obs_id)


def test_pulled_readings_are_held_by_month_and_joined_by_a_later_pull(
    context: BrowserContext, live_url: str, team: Team, session: Session
) -> None:
    now = datetime.now(UTC)
    elder = session.get(Elder, team.elder.id)
    assert elder is not None
    old = reading_at(session, elder, now - timedelta(days=40), 131)
    recent = reading_at(session, elder, now - timedelta(minutes=2), 132)

    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"{e.name}: {e.message}"))
    sign_in(page, live_url, team.cg.username)
    wait_pulled(page)
    blocks = {b["month"]: b for b in idb_dump(page, "history")}
    assert len(blocks) == 2 and idb_dump(page, "observations") == []
    month = now.strftime("%Y-%m")
    assert [r["id"] for r in blocks[month]["readings"]] == [recent]
    assert {b["elder_id"] for b in blocks.values()} == {str(team.elder.id)}
    assert {r["id"] for b in blocks.values() for r in b["readings"]} == {old, recent}

    # A reading that reached the server since: the next pull (since the cursor) adds it to
    # the month it belongs in, keeping what the block held.
    newer = reading_at(session, elder, now, 133)
    page.reload()
    wait_pulled(page)
    blocks = {b["month"]: b for b in idb_dump(page, "history")}
    assert len(blocks) == 2
    assert sorted(r["id"] for r in blocks[month]["readings"]) == sorted([recent, newer])

    page.goto(f"{live_url}/app/#/elder/{team.elder.id}")
    page.wait_for_selector(".chart[data-chart='bp']")
    latest = page.locator("li.reading").all_inner_texts()
    assert len(latest) == 3
    assert "133" in latest[0] and "132" in latest[1] and "131" in latest[2]
    assert errors == []


V1_STORES = {
    "meta": ("key", []), "elders": ("id", []), "care_plans": ("id", ["elder_id"]),
    "visits": ("id", ["elder_id"]), "observations": ("id", ["elder_id", "observed_at"]),
    "notes": ("id", ["elder_id"]), "voice_notes": ("id", ["elder_id"]),
    "consults": ("id", ["elder_id"]), "checkins": ("id", ["elder_id"]),
    "outbox": ("id", ["state", "seq", "group"]), "blobs": ("id", ["uploaded"]),
    "drafts": ("id", ["elder_id"]),
}  # fmt: skip


def test_a_tablet_of_the_previous_version_moves_its_pulled_readings_into_blocks(
    context: BrowserContext, live_url: str, team: Team
) -> None:
    """The store as version 1 of the app left it (Dexie's version 1 is IndexedDB's 10): one
    pulled reading and one made on the tablet, and a cursor, so the next pull is not a full
    one that would replace what the tablet holds anyway."""
    elder = str(team.elder.id)
    pulled = {
        "id": str(uuid.uuid4()),
        "elder_id": elder,
        "observed_at": "2026-01-05T08:00:00Z",
        "readings": [{"code": "systolic", "value": 121, "unit": "mm[Hg]"}],
        "priority": None,
    }
    own = {"id": str(uuid.uuid4()), "elder_id": elder, "observed_at": "2026-01-06T08:00:00Z",
           "readings": [{"code": "systolic", "value": 122}], "priority": None, "local": True}  # fmt: skip
    page = context.new_page()
    page.goto(f"{live_url}/login")
    page.evaluate(
        """([stores, rows, cursor]) => new Promise((resolve, reject) => {
          const q = indexedDB.open('eldercare-care', 10);
          q.onupgradeneeded = () => {
            for (const [name, [key, indexes]] of Object.entries(stores)) {
              const store = q.result.createObjectStore(name, {keyPath: key});
              for (const index of indexes) store.createIndex(index, index);
            }
          };
          q.onsuccess = () => {
            const tx = q.result.transaction(['observations', 'meta'], 'readwrite');
            for (const row of rows) tx.objectStore('observations').put(row);
            tx.objectStore('meta').put({key: 'cursor', value: cursor});
            tx.oncomplete = () => { q.result.close(); resolve(null); };
            tx.onerror = () => reject(tx.error);
          };
          q.onerror = () => reject(q.error);
        })""",
        [V1_STORES, [pulled, own], encode_cursor(0, datetime.now(UTC))],
    )
    sign_in(page, live_url, team.cg.username)
    wait_pulled(page)
    [block] = idb_dump(page, "history")
    assert block["id"] == f"{elder}/2026-01" and block["readings"] == [pulled]
    assert [o["id"] for o in idb_dump(page, "observations")] == [own["id"]]
