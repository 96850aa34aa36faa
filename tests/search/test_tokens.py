"""The words the index sees: one normalisation for what is stored and what is asked."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from confide.search.tokens import (
    MAX_QUERY_WORDS,
    MAX_TERMS_PER_TEXT,
    MAX_WORD_LENGTH,
    SNIPPET_LENGTH,
    fold,
    query_words,
    snippet,
    term_frequencies,
    words,
)


def test_case_accents_and_unicode_forms_fold_together() -> None:
    assert words("Café CAFÉ cafe\u0301 \uff23\uff21\uff26\uff25") == ["cafe"] * 4
    assert words("Straße STRASSE") == ["strasse", "strasse"]
    assert words("\ufb01le") == ["file"]  # the "fi" ligature


def test_non_word_characters_split_and_single_characters_drop() -> None:
    assert words("snake_case, e-mail! 100%_off a I x") == ["snake", "case", "mail", "100", "off"]
    assert words("東京タワー Ελληνικά") == ["東京タワー", "ελληνικα"]
    assert query_words("s_o") == []


def test_long_words_are_cut_the_same_way_in_text_and_query() -> None:
    long = "x" * 200
    (indexed,) = words(long)
    assert len(indexed) == MAX_WORD_LENGTH
    assert query_words(long + "yz") == [indexed]


def test_distinct_words_per_text_are_capped() -> None:
    text = " ".join(f"w{i}" for i in range(MAX_TERMS_PER_TEXT + 50)) + " w1 w1"
    counts = term_frequencies(text)
    assert len(counts) == MAX_TERMS_PER_TEXT
    assert counts["w1"] == 3  # a word already counted keeps counting past the cap
    assert f"w{MAX_TERMS_PER_TEXT + 10}" not in counts


def test_query_words_are_distinct_in_order_and_capped() -> None:
    assert query_words("Beta alpha BETA gamma") == ["beta", "alpha", "gamma"]
    many = " ".join(f"q{i}" for i in range(MAX_QUERY_WORDS * 2))
    assert len(query_words(many)) == MAX_QUERY_WORDS


@given(st.text())
def test_every_word_is_folded_and_at_least_two_characters(text: str) -> None:
    for word in words(text):
        assert 2 <= len(word) <= MAX_WORD_LENGTH
        assert fold(word) == word
        assert words(word) == [word]  # a word is its own only word


@given(st.text())
def test_tokenising_the_words_again_changes_nothing(text: str) -> None:
    found = words(text)
    assert words(" ".join(found)) == found


@given(st.lists(st.sampled_from(["Lisbon", "LISBON", "lisbon", "Lisbón"]), min_size=1))
def test_a_query_finds_a_word_whatever_its_case_or_accents(spellings: list[str]) -> None:
    counts = term_frequencies(" ".join(spellings))
    assert counts == {"lisbon": len(spellings)}
    assert query_words(spellings[0]) == ["lisbon"]


@given(st.text(), st.text(alphabet="abcdefgh", min_size=2, max_size=6))
def test_a_snippet_is_short_and_shows_the_match(before: str, word: str) -> None:
    text = before + " " + word + " " + "tail " * 80
    cut = snippet(text, {word})
    assert len(cut) <= SNIPPET_LENGTH + 2  # and the two ellipses
    assert word in words(cut)


def test_a_snippet_of_a_short_text_is_the_text_with_whitespace_collapsed() -> None:
    assert snippet("  one\n\ntwo  ", {"two"}) == "one two"
