"""`GET /api/threads?q=` through the blind index: a query's words as the tokens to look for
in the threads listed. Each thread's words are under its owner's key, so a word becomes one
token per owner whose threads the list may show."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from confide.search import repository
from confide.search.tokens import query_words
from confide.storage.codec import Executor, Vault

# Per query word, the tokens that stand for it (a thread matches when it holds, for every
# word, one of that word's tokens). An empty list: a query with no searchable word.
WordTokens = list[list[bytes]]


async def tokens_for_owners(
    db: Executor, vault: Vault, *, owner_ids: Iterable[uuid.UUID], q: str | None
) -> WordTokens | None:
    """The query's words under these owners' keys (None: no query)."""
    if q is None:
        return None
    words = query_words(q)
    if not words:
        return []
    codecs = [await vault.codec(db, owner_id) for owner_id in dict.fromkeys(owner_ids)]
    return [[codec.blind_token(word) for codec in codecs] for word in words]


async def shared_threads_tokens(
    db: Executor, vault: Vault, *, user_id: uuid.UUID, q: str | None
) -> WordTokens | None:
    """The query's words under the key of each owner who shares a thread with the user."""
    if q is None:
        return None
    owners = await repository.sharing_owners(db, user_id=user_id)
    return await tokens_for_owners(db, vault, owner_ids=owners, q=q)
