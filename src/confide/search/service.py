"""Ranked search over the caller's own threads, through the blind index. Never commits."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence

from confide.search import repository
from confide.search.models import TITLE_SEQ
from confide.search.schemas import SearchHit
from confide.search.tokens import query_words, snippet
from confide.storage.codec import ContentCodec, Executor, Vault
from confide.threads.service import open_content, open_title

# Ranked results are paged by position, up to this many in all: past the first pages a
# query wants more words, not more pages.
MAX_RESULTS = 1000


def query_tokens(codec: ContentCodec, q: str) -> dict[bytes, str]:
    """The query's words as the codec's user's tokens (token -> word)."""
    return {codec.blind_token(word): word for word in query_words(q)}


async def thread_filter_tokens(
    db: Executor, vault: Vault, *, owner_ids: Sequence[uuid.UUID], q: str
) -> list[list[bytes]]:
    """For `GET /api/threads?q=`: per query word, its token under each of these owners'
    keys (a thread matches when each word has one of its tokens in the thread)."""
    words = query_words(q)
    codecs = [await vault.codec(db, owner_id) for owner_id in dict.fromkeys(owner_ids)]
    return [[codec.blind_token(word) for codec in codecs] for word in words]


class SearchService:
    def __init__(self, db: Executor, *, vault: Vault) -> None:
        self.db = db
        self.vault = vault

    async def search(
        self, user_id: uuid.UUID, q: str, *, offset: int, limit: int
    ) -> list[SearchHit]:
        """The user's documents (titles, user and assistant messages) holding words of `q`,
        best first. Only threads they own: a thread shared with them is sealed under its
        owner's key, and its words are the owner's to search."""
        if offset >= MAX_RESULTS:
            return []
        codec = await self.vault.codec(self.db, user_id)
        tokens = query_tokens(codec, q)
        if not tokens:
            return []
        frequencies = await repository.document_frequencies(
            self.db, user_id=user_id, tokens=list(tokens)
        )
        if not frequencies:
            return []
        total = max(await repository.document_count(self.db, user_id=user_id), 1)
        # Inverse document frequency: a word in few of the user's documents weighs more.
        weights = {t: math.log(1 + total / df) for t, df in frequencies.items()}
        ranked = await repository.ranked_documents(
            self.db,
            user_id=user_id,
            weights=weights,
            offset=offset,
            limit=min(limit, MAX_RESULTS - offset),
        )
        if not ranked:
            return []
        thread_ids = list({row.thread_id for row in ranked})
        titles = await repository.owned_titles(self.db, owner_id=user_id, thread_ids=thread_ids)
        message_ids = [row.message_id for row in ranked if row.message_id is not None]
        messages = (
            await repository.messages_by_id(self.db, thread_ids=thread_ids, message_ids=message_ids)
            if message_ids
            else {}
        )
        matching = set(tokens.values())
        hits = []
        for row in ranked:
            if row.thread_id not in titles:
                continue  # not the user's thread (cannot happen: the index is per user)
            stored_title = titles[row.thread_id]
            title = None if stored_title is None else open_title(codec, row.thread_id, stored_title)
            if row.seq == TITLE_SEQ:
                text, role = title or "", None
            else:
                message = messages.get(row.message_id)
                if message is None or message.content is None:
                    continue
                text = open_content(codec, message.id, message.content)
                role = message.role
            hits.append(
                SearchHit(
                    thread_id=row.thread_id,
                    thread_title=title,
                    message_id=row.message_id,
                    seq=None if row.seq == TITLE_SEQ else row.seq,
                    role=role,
                    snippet=snippet(text, matching),
                    matched_words=row.matched,
                    score=round(float(row.score), 4),
                    created_at=row.created_at,
                )
            )
        return hits
