"""The WebRTC side of Rapport: the wire protocol and its codec, SDP checks and aiortc peers."""
