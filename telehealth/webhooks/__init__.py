"""Webhooks: what happened in the rooms, POSTed to the practice's system per the Standard
Webhooks specification, from the rooms' durable event streams.

payloads.py turns stream entries into events (ids only), sender.py signs and sends one,
delivery.py retries with backoff and keeps the dead letters, worker.py shares the streams
between the nodes through a consumer group (rooms/ports.EventGroup), and feed.py reads the
same events back for a receiver that missed some.
"""
