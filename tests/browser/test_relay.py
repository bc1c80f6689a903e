"""Relay-only privacy mode in real browsers: a full call relayed by coturn.

The node is set to relay-only (``relay_only``, TELEHEALTH_RELAY_ONLY) with the coturn fixture
as its TURN server; nothing in the test tells the pages which ICE policy to use. The pages take
``ice_transport_policy`` and the TURN credentials from the server's ``welcome``; both see each
other's video, and getStats shows that every candidate either side had was a relay candidate
and that the selected pair runs relay to relay, so neither page learnt the other's address.
"""

from __future__ import annotations

from typing import Any

import pytest
import pytest_asyncio

from tests.turnserver import TurnServer

from .conftest import OpenPage, Service, StartService
from .helpers import admit, frames_per_peer, meet, page_value

pytestmark = pytest.mark.browser

#: Per RTCPeerConnection: its policy, and the candidate types of the selected pair and of
#: every candidate getStats knows (types only: a test prints no address either).
ICE_PATH_JS = """async () => {
  const out = [];
  for (const pc of window.__rapport.pcs.values()) {
    const stats = await pc.getStats();
    let pair = null;
    const local = new Set();
    const remote = new Set();
    stats.forEach((s) => {
      if (s.type === "transport" && s.selectedCandidatePairId) {
        pair = stats.get(s.selectedCandidatePairId);
      }
      if (s.type === "local-candidate") local.add(s.candidateType);
      if (s.type === "remote-candidate") remote.add(s.candidateType);
    });
    const selectedLocal = pair && stats.get(pair.localCandidateId);
    const selectedRemote = pair && stats.get(pair.remoteCandidateId);
    out.push({
      policy: pc.getConfiguration().iceTransportPolicy,
      local: selectedLocal ? selectedLocal.candidateType : null,
      remote: selectedRemote ? selectedRemote.candidateType : null,
      localTypes: [...local].sort(),
      remoteTypes: [...remote].sort(),
    });
  }
  return out;
}"""


@pytest_asyncio.fixture(loop_scope="session")
async def relay_service(start_service: StartService, turn_server: TurnServer) -> Service:
    return await start_service(
        turn_urls=turn_server.urls, turn_secret=turn_server.secret, relay_only=True
    )


def _relayed(paths: Any) -> bool:
    return (
        isinstance(paths, list)
        and len(paths) == 1
        and paths[0]["local"] == "relay"
        and paths[0]["remote"] == "relay"
    )


async def test_relay_only_call_runs_through_coturn(
    relay_service: Service, open_page: OpenPage
) -> None:
    therapist, (client,) = await meet(relay_service, open_page, "Alex")
    await admit(therapist, client, "Alex")
    # Two-way video.
    assert (await frames_per_peer(client, 1, timeout=30))[0] > 0
    assert (await frames_per_peer(therapist, 1, timeout=30))[0] > 0
    for page in (therapist, client):
        (path,) = await page_value(page, ICE_PATH_JS, _relayed, timeout=30)
        assert path["policy"] == "relay", path
        assert path["localTypes"] == ["relay"], path  # no host or srflx candidate gathered
        assert path["remoteTypes"] == ["relay"], path  # nor learnt from the other side
