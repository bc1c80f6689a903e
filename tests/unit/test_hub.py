"""The hub (telehealth/rooms/hub.py) with fake outlets: views on attach, only what changed on
each newer snapshot, replaced and ended sockets closed with their codes, and deliveries that
honour the audience rule."""

from __future__ import annotations

import json
from typing import Any

import pytest

from signaling.errors import Code
from telehealth.rooms.hub import HOLD_S, Hub
from telehealth.rooms.model import Participant, Snapshot
from telehealth.rooms.ports import Audience, Outlet
from telehealth.rooms.states import TERMINAL_CODES, Role, State

ROOM = "room-hub"


class FakeOutlet:
    """An Outlet that keeps what it was sent and how it was closed."""

    def __init__(self, pid: str, conn: str, role: Role = Role.CLIENT, room: str = ROOM) -> None:
        self.conn_id = conn
        self.participant_id = pid
        self.room = room
        self.role = role
        self.sent: list[bytes] = []
        self.closed: list[Code] = []

    def send(self, data: bytes) -> None:
        self.sent.append(data)

    def close(
        self, code: Code, *, reconnect: bool = False, retry_after: float | None = None
    ) -> None:
        self.closed.append(code)

    def take(self) -> list[dict[str, Any]]:
        """The messages sent since the last take, decoded from JSON."""
        messages: list[dict[str, Any]] = [json.loads(d) for d in self.sent]
        self.sent.clear()
        return messages


def _typed(outlet: FakeOutlet) -> Outlet:
    return outlet  # mypy checks here that the fake keeps to the Protocol


def person(
    pid: str,
    state: State = State.WAITING,
    *,
    role: Role = Role.CLIENT,
    queued_at: int = 0,
    conn: str | None = None,
    connected: bool = True,
) -> Participant:
    return Participant(
        id=pid,
        role=role,
        state=state,
        name=f"name of {pid}",
        queued_at=queued_at,
        node="n-1",
        conn=f"conn-{pid}" if conn is None else conn,
        connected=connected,
    )


THERAPIST = person("t-1", State.PRESENT, role=Role.THERAPIST)


def room(version: int, *people: Participant) -> Snapshot:
    return Snapshot(room=ROOM, version=version, participants={p.id: p for p in people})


def outlet_for(p: Participant) -> FakeOutlet:
    return FakeOutlet(p.id, p.conn, p.role)


def types(messages: list[dict[str, Any]]) -> list[str]:
    return [m["type"] for m in messages]


# -- attach --------------------------------------------------------------------------------------


def test_attach_sends_each_participant_their_views() -> None:
    hub = Hub(show_position=True)
    c1 = person("c-1", queued_at=10)
    snapshot = room(1, THERAPIST, c1)
    therapist, client = outlet_for(THERAPIST), outlet_for(c1)
    hub.attach(_typed(therapist), snapshot)
    hub.attach(_typed(client), snapshot)
    room_view, session_view = therapist.take()
    assert room_view["type"] == "room" and session_view == {"type": "session", "peers": []}
    assert room_view["version"] == 1
    assert [w["participant_id"] for w in room_view["waiting"]] == ["c-1"]
    assert client.take() == [
        {
            "type": "state",
            "state": "waiting",
            "therapist": "ready",
            "position": 1,
            "reason": None,
            "eta": None,
        }
    ]
    assert hub.outlet(ROOM, "c-1") is client and hub.rooms() == [ROOM]


def test_attach_with_an_older_snapshot_shows_the_newer_one_the_hub_has() -> None:
    hub = Hub(show_position=False)
    c1 = person("c-1")
    hub.attach(outlet_for(THERAPIST), room(5, THERAPIST, c1.with_(state=State.ADMITTED)))
    client = outlet_for(c1)
    hub.attach(client, room(3, THERAPIST, c1))  # read before the admission was applied
    assert types(client.take()) == ["state", "session"]
    assert hub.version(ROOM) == 5


def test_attach_with_a_newer_snapshot_updates_everyone() -> None:
    hub = Hub(show_position=False)
    c1 = person("c-1")
    therapist = outlet_for(THERAPIST)
    hub.attach(therapist, room(1, THERAPIST))
    therapist.take()
    hub.attach(outlet_for(c1), room(2, THERAPIST, c1))
    assert types(therapist.take()) == ["room"]
    assert hub.version(ROOM) == 2


# -- apply ---------------------------------------------------------------------------------------


def test_apply_sends_only_what_changed() -> None:
    hub = Hub(show_position=True)
    c1 = person("c-1", queued_at=10)
    therapist, client = outlet_for(THERAPIST), outlet_for(c1)
    hub.attach(therapist, room(1, THERAPIST, c1))
    hub.attach(client, room(1, THERAPIST, c1))
    therapist.take(), client.take()

    # Someone queues behind c-1: the therapist's list changes, c-1's view does not.
    c2 = person("c-2", queued_at=20)
    hub.apply(room(2, THERAPIST, c1, c2))
    assert types(therapist.take()) == ["room"]  # the session view is unchanged: not resent
    assert client.take() == []

    # Someone queues ahead of c-1 (an earlier arrival sent back): c-1's position moves.
    c0 = person("c-0", queued_at=5)
    hub.apply(room(3, THERAPIST, c0, c1, c2))
    assert client.take() == [
        {
            "type": "state",
            "state": "waiting",
            "therapist": "ready",
            "position": 2,
            "reason": None,
            "eta": None,
        }
    ]
    assert types(therapist.take()) == ["room"]

    # c-1 is admitted: a new state and a session view for them, both views for the therapist.
    admitted = c1.with_(state=State.ADMITTED)
    hub.apply(room(4, THERAPIST, c0, admitted, c2))
    assert types(client.take()) == ["state", "session"]
    assert types(therapist.take()) == ["room", "session"]

    # A change that c-1's views do not show (a waiting client's connection) resends nothing.
    hub.apply(room(5, THERAPIST, c0, admitted, c2.with_(connected=False)))
    assert client.take() == []
    assert types(therapist.take()) == ["room"]


def test_the_same_view_is_never_sent_twice() -> None:
    hub = Hub(show_position=False)
    c1 = person("c-1")
    client = outlet_for(c1)
    hub.attach(client, room(1, THERAPIST, c1))
    for version in range(2, 6):
        hub.apply(room(version, THERAPIST, c1, person(f"c-{version}")))
    assert types(client.take()) == ["state"]


def test_an_older_or_equal_snapshot_is_ignored() -> None:
    hub = Hub(show_position=False)
    c1 = person("c-1")
    client = outlet_for(c1)
    hub.attach(client, room(4, THERAPIST, c1))
    client.take()
    hub.apply(room(3, THERAPIST, c1.with_(state=State.ADMITTED)))
    hub.apply(room(4, THERAPIST, c1.with_(state=State.DENIED)))
    assert client.take() == [] and client.closed == []
    assert hub.version(ROOM) == 4
    snapshot = hub.snapshot(ROOM)
    assert snapshot is not None and snapshot.participants["c-1"].state is State.WAITING


def test_a_snapshot_of_a_room_without_local_sockets_is_ignored() -> None:
    hub = Hub(show_position=False)
    hub.apply(room(1, THERAPIST))
    assert hub.snapshot(ROOM) is None and hub.version(ROOM) == -1 and hub.rooms() == []


# -- closing -------------------------------------------------------------------------------------


def test_a_second_socket_replaces_the_first() -> None:
    hub = Hub(show_position=False)
    c1 = person("c-1", conn="tab-1")
    first = outlet_for(c1)
    hub.attach(first, room(1, THERAPIST, c1))
    second = FakeOutlet("c-1", "tab-2")
    hub.attach(second, room(2, THERAPIST, c1.with_(conn="tab-2")))
    assert first.closed == [Code.REPLACED]
    assert second.closed == [] and types(second.take()) == ["state"]
    assert hub.outlet(ROOM, "c-1") is second
    hub.detach(first)  # the old socket's reader ends later: that leaves the new one alone
    assert hub.outlet(ROOM, "c-1") is second


def test_a_socket_taken_over_on_another_node_is_closed_as_replaced() -> None:
    hub = Hub(show_position=False)
    c1 = person("c-1", conn="here")
    client = outlet_for(c1)
    hub.attach(client, room(1, THERAPIST, c1))
    client.take()
    hub.apply(room(2, THERAPIST, c1.with_(conn="elsewhere", node="n-2")))
    assert client.closed == [Code.REPLACED]
    assert client.take() == []
    assert hub.outlet(ROOM, "c-1") is None


def test_attaching_the_same_socket_again_does_not_close_it() -> None:
    hub = Hub(show_position=False)
    c1 = person("c-1")
    client = outlet_for(c1)
    hub.attach(client, room(1, THERAPIST, c1))
    hub.attach(client, room(1, THERAPIST, c1))
    assert client.closed == []


@pytest.mark.parametrize(("state", "code"), sorted(TERMINAL_CODES.items()))
def test_a_client_whose_part_ended_is_closed_with_its_code(state: State, code: Code) -> None:
    hub = Hub(show_position=False)
    c1 = person("c-1")
    client, therapist = outlet_for(c1), outlet_for(THERAPIST)
    hub.attach(client, room(1, THERAPIST, c1))
    hub.attach(therapist, room(1, THERAPIST, c1))
    client.take()
    hub.apply(room(2, THERAPIST, c1.with_(state=state)))
    assert client.closed == [code]
    assert client.take() == []  # no last view: the bye says it
    assert hub.outlet(ROOM, "c-1") is None
    assert therapist.closed == []


def test_the_therapist_closing_the_room_is_closed_with_room_ended() -> None:
    hub = Hub(show_position=False)
    therapist = outlet_for(THERAPIST)
    hub.attach(therapist, room(1, THERAPIST))
    hub.apply(room(2, THERAPIST.with_(state=State.CLOSED)))
    assert therapist.closed == [Code.ROOM_ENDED]
    assert hub.rooms() == []  # the last socket of the room went: the hub forgets it


def test_a_dropped_participant_keeps_their_socket() -> None:
    # A drop recorded elsewhere (the socket is alive here): the record says so, nothing closes.
    hub = Hub(show_position=False)
    c1 = person("c-1")
    client = outlet_for(c1)
    hub.attach(client, room(1, THERAPIST, c1))
    hub.apply(room(2, THERAPIST, c1.with_(connected=False)))
    assert client.closed == []


# -- delivery ------------------------------------------------------------------------------------


@pytest.fixture
def busy() -> tuple[Hub, dict[str, FakeOutlet]]:
    """A room with a therapist, one admitted client and two waiting ones, all attached here."""
    people = [
        THERAPIST,
        person("a-1", State.ADMITTED),
        person("w-1", queued_at=1),
        person("w-2", queued_at=2),
    ]
    hub = Hub(show_position=False)
    outlets = {p.id: outlet_for(p) for p in people}
    for o in outlets.values():
        hub.attach(o, room(1, *people))
    for o in outlets.values():
        o.take()
    return hub, outlets


def received(outlets: dict[str, FakeOutlet], data: bytes) -> list[str]:
    return sorted(pid for pid, o in outlets.items() if data in o.sent)


@pytest.mark.parametrize(
    ("sender", "to", "delivered"),
    [
        ("t-1", ["a-1"], ["a-1"]),
        ("a-1", ["t-1"], ["t-1"]),
        ("t-1", ["a-1", "w-1", "w-2"], ["a-1"]),  # waiting clients are not in the session
        ("w-1", ["a-1", "t-1"], []),  # nor may they send into it
        ("nobody", ["a-1"], []),
    ],
)
def test_session_delivery_needs_sender_and_target_in_the_session(
    busy: tuple[Hub, dict[str, FakeOutlet]], sender: str, to: list[str], delivered: list[str]
) -> None:
    hub, outlets = busy
    data = b'{"type":"offer","from":"%s"}' % sender.encode()
    assert hub.deliver(ROOM, to, Audience.SESSION, sender, data) == len(delivered)
    assert received(outlets, data) == delivered


def test_waiting_delivery_reaches_waiting_clients_only(
    busy: tuple[Hub, dict[str, FakeOutlet]],
) -> None:
    hub, outlets = busy
    data = b'{"type":"message","text":"running late"}'
    assert hub.deliver(ROOM, ["w-1", "w-2", "a-1", "t-1"], Audience.WAITING, "t-1", data) == 2
    assert received(outlets, data) == ["w-1", "w-2"]


def test_any_delivery_reaches_every_named_local_participant(
    busy: tuple[Hub, dict[str, FakeOutlet]],
) -> None:
    hub, outlets = busy
    data = b'{"type":"pong","id":1}'
    assert hub.deliver(ROOM, ["w-2", "a-1"], Audience.ANY, "", data) == 2
    assert received(outlets, data) == ["a-1", "w-2"]


def test_delivery_skips_participants_without_a_socket_here(
    busy: tuple[Hub, dict[str, FakeOutlet]],
) -> None:
    hub, outlets = busy
    data = b'{"type":"chat"}'
    assert hub.deliver(ROOM, ["elsewhere", "a-1"], Audience.ANY, "t-1", data) == 1
    assert hub.deliver("other-room", ["a-1"], Audience.ANY, "t-1", data) == 0
    assert received(outlets, data) == ["a-1"]


def test_delivery_follows_the_latest_snapshot(busy: tuple[Hub, dict[str, FakeOutlet]]) -> None:
    hub, outlets = busy
    snapshot = hub.snapshot(ROOM)
    assert snapshot is not None
    # w-1 is admitted: session messages reach them now, waiting-room messages no longer do.
    admitted = snapshot.participants["w-1"].with_(state=State.ADMITTED)
    hub.apply(room(2, *snapshot.participants.values(), admitted))
    offer, note = b'{"type":"offer"}', b'{"type":"message"}'
    assert hub.deliver(ROOM, ["w-1"], Audience.SESSION, "t-1", offer) == 1
    assert hub.deliver(ROOM, ["w-1"], Audience.WAITING, "t-1", note) == 0
    assert received(outlets, offer) == ["w-1"] and received(outlets, note) == []


# -- deliveries that arrive early ------------------------------------------------------------------


def test_an_offer_for_a_socket_not_attached_yet_waits_for_it_and_for_the_senders_snapshot() -> None:
    """The lost offer: the client's join is committed (v1), the therapist admits (v2) and sends
    the offer before the client's socket is attached here with the older snapshot."""
    hub = Hub(show_position=False)
    waiting = person("c-1")
    admitted = waiting.with_(state=State.ADMITTED)
    offer = b'{"type":"offer","from":"t-1"}'
    assert hub.deliver(ROOM, ["c-1"], Audience.SESSION, "t-1", offer, version=2) == 0
    assert hub.held == 1
    client = outlet_for(waiting)
    hub.attach(_typed(client), room(1, THERAPIST, waiting))
    assert offer not in client.sent and hub.held == 1  # not decided on an older snapshot
    hub.apply(room(2, THERAPIST, admitted))
    assert client.sent[-1] == offer and hub.held == 0 and hub.expired == 0


def test_a_room_behind_the_sender_decides_once_it_has_caught_up() -> None:
    hub = Hub(show_position=False)
    c1 = person("c-1")
    client = outlet_for(c1)
    hub.attach(_typed(client), room(1, THERAPIST, c1))
    client.take()
    offer = b'{"type":"offer","from":"t-1"}'
    assert hub.deliver(ROOM, ["c-1"], Audience.SESSION, "t-1", offer, version=2) == 0
    assert hub.behind(ROOM, 2) and not hub.behind(ROOM, 1) and not hub.behind("elsewhere", 9)
    hub.apply(room(2, THERAPIST, c1.with_(state=State.ADMITTED)))
    assert [m["type"] for m in client.take()][-1] == "offer"


def test_a_held_delivery_still_obeys_the_audience_rule_when_released() -> None:
    hub = Hub(show_position=False)
    c1 = person("c-1")
    offer = b'{"type":"offer","from":"t-1"}'
    hub.deliver(ROOM, ["c-1"], Audience.SESSION, "t-1", offer, version=1)
    client = outlet_for(c1)
    hub.attach(_typed(client), room(1, THERAPIST, c1))  # c-1 is waiting: not in the session
    assert offer not in client.sent and hub.held == 0


def test_a_delivery_whose_socket_never_comes_is_dropped_after_the_hold() -> None:
    now = [100.0]
    hub = Hub(show_position=False, clock=lambda: now[0])
    hub.deliver(ROOM, ["gone"], Audience.ANY, "t-1", b'{"type":"chat"}', version=1)
    now[0] += HOLD_S + 1
    hub.deliver("another-room", ["c-9"], Audience.ANY, "t-1", b'{"type":"chat"}', version=1)
    assert hub.expired == 1 and hub.held == 1
