"""In-process costs of the pieces a relayed message goes through, to explain the totals.

Timed in the orchestrator process (a few seconds in all); these are per-call figures on the same
machine in the same run, used by the report to attribute CPU per message.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from benchmarks.sdp_fixture import SEQ_MARKER, answer_template, offer_template


def _time_us(fn: Callable[[], object], budget_s: float) -> float:
    fn()  # warm up (regex compilation, caches)
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + budget_s
    while True:
        fn()
        n += 1
        t = time.perf_counter()
        if t >= deadline:
            return round((t - t0) / n * 1e6, 2)


def run(budget_s: float = 0.25) -> dict[str, Any]:
    from signaling import messages as m
    from signaling.sdp import check_sdp

    offer = offer_template().replace(SEQ_MARKER, "4611731400430051336")
    answer = answer_template().replace(SEQ_MARKER, "4611731400430051336")
    to = "c-0123456789abcdef"
    cand = {
        "candidate": "candidate:123 1 udp 1677729535 203.0.113.7 54321 typ srflx raddr "
        "192.168.1.23 rport 54321 generation 0 ufrag EsAw network-id 1 network-cost 10",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "usernameFragment": "EsAw",
    }
    offer_in = json.dumps({"type": "offer", "to": to, "sdp": offer}).encode()
    cand_in = json.dumps({"type": "candidate", "to": to, "candidate": cand}).encode()
    offer_msg = m.decode(offer_in)
    cand_msg = m.decode(cand_in)
    assert isinstance(offer_msg, m.Offer) and isinstance(cand_msg, m.Candidate)
    offer_out = m.OfferOut(sender=to, sdp=offer_msg.sdp)
    cand_out = m.CandidateOut(sender=to, candidate=cand_msg.candidate)

    out: dict[str, Any] = {
        "sdp_bytes": len(offer.encode()),
        "candidate_frame_bytes": len(cand_in),
        "offer_frame_bytes": len(offer_in),
    }
    out["check_sdp_offer_us"] = _time_us(lambda: check_sdp(offer, "offer"), budget_s)
    out["check_sdp_answer_us"] = _time_us(lambda: check_sdp(answer, "answer"), budget_s)
    try:
        from aiortc.sdp import SessionDescription

        out["aiortc_parse_us"] = _time_us(lambda: SessionDescription.parse(offer), budget_s)
    except ImportError:  # pragma: no cover
        out["aiortc_parse_us"] = None
    out["msgspec_decode_offer_us"] = _time_us(lambda: m.decode(offer_in), budget_s)
    out["msgspec_decode_candidate_us"] = _time_us(lambda: m.decode(cand_in), budget_s)
    out["msgspec_encode_offer_us"] = _time_us(lambda: m.encode(offer_out), budget_s)
    out["msgspec_encode_candidate_us"] = _time_us(lambda: m.encode(cand_out), budget_s)
    out["stdlib_json_offer_roundtrip_us"] = _time_us(
        lambda: json.dumps(json.loads(offer_in)), budget_s
    )
    out["stdlib_json_candidate_roundtrip_us"] = _time_us(
        lambda: json.dumps(json.loads(cand_in)), budget_s
    )
    out["jwt_verify_us"] = _jwt_verify_us(budget_s)
    out["metrics_per_relay_us"] = _metrics_per_relay_us(budget_s)
    return out


def _metrics_per_relay_us(budget_s: float) -> float:
    """What the metrics add to one relayed message: two clock reads and a histogram observe
    (telehealth/web/ws.py around the relay). Everything else they count is per connection or
    per committed change, not per message."""
    from telehealth.metrics import Metrics

    relay = Metrics().relay

    def instrumented() -> None:
        started = time.perf_counter()
        relay.observe(time.perf_counter() - started)

    return _time_us(instrumented, budget_s)


def _jwt_verify_us(budget_s: float) -> float | None:
    try:
        from telehealth.auth.keys import key_source_from_settings
        from telehealth.auth.principal import Kind
        from telehealth.auth.tokens import TokenMinter, TokenVerifier
        from telehealth.config import Settings
    except ImportError:  # pragma: no cover
        return None
    settings = Settings(jwt_secret="x" * 48)
    token = TokenMinter(settings).mint_client("bench-room", ttl=3600)
    verifier = TokenVerifier(settings, key_source_from_settings(settings))

    async def many() -> float:
        await verifier.verify(token, Kind.CLIENT)
        n = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < budget_s:
            await verifier.verify(token, Kind.CLIENT)
            n += 1
        return round((time.perf_counter() - t0) / max(n, 1) * 1e6, 2)

    return asyncio.run(many())
