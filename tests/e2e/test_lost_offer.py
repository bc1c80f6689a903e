"""No signaling message is lost across nodes while the receiving socket is still being attached.

The race behind a lost offer in the two-node benchmark: a client's join is committed in Redis
(every node can see it) a few round trips before its node attaches the socket to the hub. In that
window the therapist on the other node sees the client, admits it and sends the offer, and the
client's node received the offer for a participant it had no socket for, and dropped it.

Here the window is made wide on purpose, with hooks rather than sleeps: on the client's node,
each client join's commit returns only once that node has taken in the therapist's offer for
the room. Many setups are paced across two nodes on a real redis-server; none may lose a message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest

from signaling.samples import CHROME_OFFER
from telehealth.rooms.model import Participant
from telehealth.rooms.ports import Envelope, Kind
from telehealth.rooms.states import Role, State
from telehealth.routing import redis_pubsub, wire
from telehealth.web import keys
from tests.e2e.conftest import Topology, join

SETUPS = 12
PACE_S = 0.1  # one setup starts every 100 ms
CANDIDATES = 3
WAIT_S = 60.0  # generous: the machine is loaded

ANSWER = CHROME_OFFER.replace("a=setup:actpass", "a=setup:active")


def candidate(i: int) -> dict[str, Any]:
    return {
        "candidate": f"candidate:{i} 1 udp 2122260223 127.0.0.1 {50000 + i} typ host",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
    }


class Adverse:
    """Holds each client join's commit on the client's node until an offer for its room has
    arrived there: the offer lands between the commit and the attach, every time."""

    def __init__(self) -> None:
        self.offer_arrived: dict[str, asyncio.Event] = {}
        self.committed: dict[str, asyncio.Event] = {}
        self.raced: set[str] = set()  # rooms where the offer came while the join was held

    def _event(self, table: dict[str, asyncio.Event], room: str) -> asyncio.Event:
        return table.setdefault(room, asyncio.Event())

    def wrap_commit(
        self, commit: Callable[..., Awaitable[int | None]]
    ) -> Callable[..., Awaitable[int | None]]:
        async def held_commit(
            room: str, expected: int, changed: Mapping[str, Participant], *args: Any
        ) -> int | None:
            result = await commit(room, expected, changed, *args)
            joining = any(
                p.role is Role.CLIENT and p.state is State.WAITING for p in changed.values()
            )
            if result is not None and joining and room not in self.raced:
                self._event(self.committed, room).set()
                async with asyncio.timeout(WAIT_S):
                    await self._event(self.offer_arrived, room).wait()
                self.raced.add(room)
            return result

        return held_commit

    def wrap_decode(self, decode: Callable[[bytes], Envelope]) -> Callable[[bytes], Envelope]:
        def seen(data: bytes) -> Envelope:
            envelope = decode(data)
            if envelope.kind is Kind.DELIVER and b'"offer"' in envelope.data[:24]:
                # Set now; the held commit resumes only after this envelope was handled.
                self._event(self.offer_arrived, envelope.room).set()
            return envelope

        return seen


@pytest.mark.redis
@pytest.mark.timeout(300)  # ~10 s on a quiet machine; every wait is on a condition
@pytest.mark.parametrize("topology", ["two-nodes"], indirect=True)
async def test_no_message_is_lost_while_the_client_socket_is_attached(
    topology: Topology, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_node = topology.servers[0].app  # the topology puts clients on the first node
    adverse = Adverse()
    presence = client_node[keys.SERVICE].presence
    monkeypatch.setattr(presence, "commit", adverse.wrap_commit(presence.commit))
    monkeypatch.setattr(redis_pubsub, "decode", adverse.wrap_decode(wire.decode))

    async def setup(i: int) -> tuple[int, int]:
        """One visit: returns (messages the client got, messages the therapist got)."""
        await asyncio.sleep(i * PACE_S)  # paced arrivals, not a wait for a condition
        room = f"race-{i}"
        client_token = topology.minter.mint_client(room, ttl=600)
        # The client's join blocks in its held commit until the offer has arrived.
        client_join = asyncio.create_task(
            join(topology.client_url, "client", client_token, room, "Client")
        )
        async with asyncio.timeout(WAIT_S):
            await adverse._event(adverse.committed, room).wait()
        token = topology.minter.mint_therapist(f"dr-{i}", [room], 600)
        therapist, _ = await join(topology.therapist_url, "therapist", token, room, "Dr")
        waiting = await therapist.until("room", lambda r: bool(r["waiting"]), WAIT_S)
        pid = waiting["waiting"][0]["participant_id"]
        await therapist.send(type="admit", participant_ids=[pid])
        await therapist.until("session", lambda s: any(p["connected"] for p in s["peers"]), WAIT_S)
        await therapist.send(type="offer", to=pid, sdp=CHROME_OFFER)
        for n in range(CANDIDATES):
            await therapist.send(type="candidate", to=pid, candidate=candidate(n))

        client, _ = await client_join
        offer = await client.expect("offer", WAIT_S)
        from_therapist = 1
        for _ in range(CANDIDATES):
            await client.expect("candidate", WAIT_S)
            from_therapist += 1
        await client.send(type="answer", to=offer["from"], sdp=ANSWER)
        for n in range(CANDIDATES):
            await client.send(type="candidate", to=offer["from"], candidate=candidate(n))
        await therapist.expect("answer", WAIT_S)
        from_client = 1
        for _ in range(CANDIDATES):
            await therapist.expect("candidate", WAIT_S)
            from_client += 1
        await client.close()
        await therapist.close()
        return from_therapist, from_client

    results = await asyncio.gather(*(setup(i) for i in range(SETUPS)), return_exceptions=True)
    lost = [r for r in results if isinstance(r, BaseException)]
    assert not lost, f"{len(lost)} of {SETUPS} setups lost a message: {lost[:3]!r}"
    assert results == [(1 + CANDIDATES, 1 + CANDIDATES)] * SETUPS
    # Every setup really raced: its offer reached the client's node before the socket did.
    assert adverse.raced == {f"race-{i}" for i in range(SETUPS)}
    assert client_node[keys.HUB].expired == 0 and client_node[keys.HUB].held == 0
