"""A real-looking WebRTC offer (~6.4 KB) and answer for the load generator.

The Chromium offer of ``signaling.samples`` (audio, simulcast video and a datachannel).
``offer_template``/``answer_template`` put a marker in
the ``o=`` line's session id so the generator can carry a sequence number through the relay; both
pass ``signaling.sdp.check_sdp`` once the marker is replaced by digits.
"""

from __future__ import annotations

from signaling.samples import CHROME_OFFER

SEQ_MARKER = "__SEQ__"


def offer_template() -> str:
    """The offer with its o= session id replaced by SEQ_MARKER."""
    return CHROME_OFFER.replace("o=- 5569281246612578583 ", f"o=- {SEQ_MARKER} ", 1)


def answer_template() -> str:
    """An answer: the same description with the answerer's DTLS role (a=setup:active)."""
    return offer_template().replace("a=setup:actpass", "a=setup:active")
