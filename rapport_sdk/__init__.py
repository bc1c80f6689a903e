"""Rapport's client SDK: a signaling client and aiortc peers that speak docs/protocol.md, and the
probe behind ``telehealth probe``. It sits above the service: the tests, the benchmarks and the
probe use it; the service never imports it."""
