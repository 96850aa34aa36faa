"""Notifications: email and SMS queued in the database (the outbox table) and delivered by a
job through the configured channel (docs/architecture.md, "Notifications").

`Notifications` (service.py) is what other features call; channels.py is the small Protocol
every channel (outbox.py, smtp.py, telesign.py) implements.
"""
