"""Search over a user's own threads that survives encryption: a blind index of keyed word
tokens (tokens.py: the words; index.py: writing them; service.py: ranked queries)."""
