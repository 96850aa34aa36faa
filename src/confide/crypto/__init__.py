"""Encryption at rest, the building blocks (docs/security.md, "Encryption at rest").

`keys` (the key types), `keyring` (the master keys: parsing, rotate, retire), `keystore`
(where the ring lives: CONFIDE_MASTER_KEYS or the generated key file), `envelope` (AES-256-GCM
blobs bound to their row), `datakeys` (each user's data key, wrapped by a master key) and
`cache` (unwrapped data keys, for a bounded time). Not yet applied to stored data.

This file imports nothing: config.py imports `confide.crypto.keyring`, and must not pull in
the rest.
"""
