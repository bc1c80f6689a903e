"""The admin's room summary (web/admin.py): who waits and for how long, the therapist's presence,
and the alert the server decides; and the TELEHEALTH_WAIT_ALERT setting. Ids only, never a name."""

from __future__ import annotations

import msgspec
import pytest

from telehealth.config import ConfigError, from_env
from telehealth.rooms.model import Participant, Snapshot
from telehealth.rooms.states import Role, State
from telehealth.web.admin import summarize

NOW = 1_800_000_000.0  # epoch seconds


def waiting(pid: str, waited_s: float, *, connected: bool = True) -> Participant:
    queued = int((NOW - waited_s) * 1000)
    return Participant(
        id=pid,
        role=Role.CLIENT,
        state=State.WAITING,
        name=f"Secret {pid}",
        queued_at=queued,
        since=queued,
        node="n-1",
        connected=connected,
    )


def therapist(state: State = State.PRESENT, *, connected: bool = True) -> Participant:
    return Participant(
        id="t-1",
        role=Role.THERAPIST,
        state=state,
        name="Dr Secret",
        node="n-1",
        connected=connected,
    )


def room(*people: Participant) -> Snapshot:
    return Snapshot(room="r1", version=len(people), participants={p.id: p for p in people})


def test_a_summary_lists_who_waits_longest_first_by_id_only() -> None:
    summary = summarize(
        room(waiting("c-new", 30), waiting("c-old", 700, connected=False), therapist()),
        NOW,
        wait_alert_s=600,
    )
    assert [(w.participant_id, w.wait_s, w.connected) for w in summary.waiting_clients] == [
        ("c-old", 700.0, False),
        ("c-new", 30.0, True),
    ]
    assert summary.longest_wait_s == 700.0 and summary.waiting == 2
    assert summary.therapist == "present" and not summary.alert
    assert b"Secret" not in msgspec.json.encode(summary)


@pytest.mark.parametrize(
    ("people", "presence", "alert"),
    [
        ([waiting("c-1", 700)], "absent", True),
        ([waiting("c-1", 600)], "absent", True),  # "or more"
        ([waiting("c-1", 599)], "absent", False),
        ([waiting("c-1", 700), therapist()], "present", False),
        ([waiting("c-1", 700), therapist(connected=False)], "reconnecting", True),
        ([waiting("c-1", 700), therapist(State.LEFT)], "absent", True),
        ([therapist(connected=False)], "reconnecting", False),  # nobody waits
        ([], "absent", False),
    ],
)
def test_the_server_decides_which_rooms_are_in_alert(
    people: list[Participant], presence: str, alert: bool
) -> None:
    summary = summarize(room(*people), NOW, wait_alert_s=600)
    assert (summary.therapist, summary.alert) == (presence, alert)


def test_the_wait_alert_setting() -> None:
    assert from_env({"TELEHEALTH_DEV": "1"}).wait_alert == 600
    assert from_env({"TELEHEALTH_DEV": "1", "TELEHEALTH_WAIT_ALERT": "1"}).wait_alert == 1
    settings = from_env({"TELEHEALTH_DEV": "1", "TELEHEALTH_WAIT_ALERT": "0.5"})
    with pytest.raises(ConfigError, match="TELEHEALTH_WAIT_ALERT"):
        settings.validate()
    with pytest.raises(ConfigError, match="TELEHEALTH_WAIT_ALERT"):
        from_env({"TELEHEALTH_DEV": "1", "TELEHEALTH_WAIT_ALERT": "soon"})
