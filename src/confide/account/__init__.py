"""Links sent to an account's owner: email verification, password recovery, set-password.

Each link carries a single-use random token; only its SHA-256 is stored (models.AccountToken).
Sending goes through the notification outbox (confide.notify), never on the request's path.
"""
