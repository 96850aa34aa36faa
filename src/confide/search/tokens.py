"""Words as the search index sees them: the same normalisation for what is indexed and what
is asked, so a query matches whole words whatever their case, accents or Unicode form."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator

# Letters and digits; everything else (punctuation, spaces, "_") separates words.
_WORD = re.compile(r"[^\W_]+")
MIN_WORD_LENGTH = 2
MAX_WORD_LENGTH = 64  # longer words (hashes, URLs run together) are cut to this length
MAX_TERMS_PER_TEXT = 1000  # distinct words indexed per message; later new words are not
MAX_QUERY_WORDS = 10
MAX_TERM_FREQUENCY = 32767  # fits a SMALLINT


def fold(word: str) -> str:
    """A word's searchable form: case-folded, accents stripped, NFKC."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", bare)[:MAX_WORD_LENGTH]


def _words(text: str) -> Iterator[tuple[str, int]]:
    """Each searchable word of `text` (already NFKC) with where it starts."""
    for match in _WORD.finditer(text):
        # Folding may split a word ("Ⅻ" is fine, a stray mark is not): take its parts.
        for part in _WORD.findall(fold(match.group())):
            if len(part) >= MIN_WORD_LENGTH:
                yield part, match.start()


def words(text: str) -> list[str]:
    """The searchable words of a text, in order, repeats included."""
    return [word for word, _ in _words(unicodedata.normalize("NFKC", text))]


def term_frequencies(text: str) -> Counter[str]:
    """The distinct words of a text with their counts (at most MAX_TERMS_PER_TEXT words)."""
    counts: Counter[str] = Counter()
    for word in words(text):
        if word in counts or len(counts) < MAX_TERMS_PER_TEXT:
            counts[word] += 1
    for word, count in counts.items():
        counts[word] = min(count, MAX_TERM_FREQUENCY)
    return counts


def query_words(q: str) -> list[str]:
    """The distinct words of a query, first seen first (at most MAX_QUERY_WORDS)."""
    return list(dict.fromkeys(words(q)))[:MAX_QUERY_WORDS]


SNIPPET_LENGTH = 160
SNIPPET_LEAD = 60  # characters shown before the first matching word


def snippet(text: str, matching: set[str]) -> str:
    """About SNIPPET_LENGTH characters of `text` (whitespace collapsed, NFKC) around the first
    word in `matching`; the text's start when none is there."""
    flat = " ".join(unicodedata.normalize("NFKC", text).split())
    if len(flat) <= SNIPPET_LENGTH:
        return flat
    at = next((start for word, start in _words(flat) if word in matching), 0)
    begin = max(0, min(at - SNIPPET_LEAD, len(flat) - SNIPPET_LENGTH))
    if begin > 0:  # start on a word
        space = flat.find(" ", begin, at)
        begin = space + 1 if space != -1 else begin
    end = min(len(flat), begin + SNIPPET_LENGTH)
    if end < len(flat):
        space = flat.rfind(" ", max(at, begin + 1), end)
        end = space if space != -1 else end
    return ("…" if begin > 0 else "") + flat[begin:end] + ("…" if end < len(flat) else "")
