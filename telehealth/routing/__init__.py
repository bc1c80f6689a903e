"""Routing between nodes: envelopes addressed to nodes, over Redis pub/sub or in-process."""
