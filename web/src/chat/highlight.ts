// The words a search matched, found again in text to mark them: the same rules as the
// server's index (search/tokens.py): whole words of letters and digits, compared case-folded
// and without accents, at least 2 characters, at most 10 words.
import type { Root } from "mdast";
import { findAndReplace } from "mdast-util-find-and-replace";

const WORD = /[\p{L}\p{N}\p{M}]+/gu;
const MIN_WORD_LENGTH = 2;
const MAX_QUERY_WORDS = 10;

/** A word's searchable form: case-folded, accents stripped, NFKC. */
export function fold(word: string): string {
  return word.normalize("NFKD").toLowerCase().replace(/\p{M}/gu, "").normalize("NFKC");
}

/** The distinct searchable words of a query, first seen first. */
export function queryWords(q: string): string[] {
  const words = (q.normalize("NFKC").match(WORD) ?? []).map(fold).filter((w) => w.length >= MIN_WORD_LENGTH);
  return [...new Set(words)].slice(0, MAX_QUERY_WORDS);
}

export interface Segment {
  text: string;
  match: boolean;
}

/** `text` cut into runs that are, or are not, one of `words` (folded, as `queryWords` gives). */
export function segments(text: string, words: readonly string[]): Segment[] {
  if (words.length === 0 || text === "") return text ? [{ text, match: false }] : [];
  const wanted = new Set(words);
  const out: Segment[] = [];
  let plain = "";
  let at = 0;
  for (const found of text.matchAll(WORD)) {
    const start = found.index;
    if (!wanted.has(fold(found[0]))) continue;
    plain += text.slice(at, start);
    if (plain) out.push({ text: plain, match: false });
    plain = "";
    out.push({ text: found[0], match: true });
    at = start + found[0].length;
  }
  plain += text.slice(at);
  if (plain) out.push({ text: plain, match: false });
  return out;
}

/** A whole word: one that no letter or digit precedes (a declined match is tried again one
 * character on, which must not find the rest of the same word). */
const WHOLE_WORD = /(?<![\p{L}\p{N}\p{M}])[\p{L}\p{N}\p{M}]+/gu;

/** A remark plugin: the matching words of the markdown's text become `<mark>` elements
 * (in text and links' text; code stays as written, and so does the markup around them). */
export function remarkMarkWords(options: { words: readonly string[] }) {
  const wanted = new Set(options.words);
  return (tree: Root) => {
    if (wanted.size === 0) return;
    findAndReplace(tree, [
      [
        WHOLE_WORD,
        // An emphasis node rendered as <mark>: not a text node, which the library would merge
        // with the text beside it.
        (value: string) =>
          wanted.has(fold(value))
            ? { type: "emphasis", data: { hName: "mark" }, children: [{ type: "text", value }] }
            : false,
      ],
    ]);
  };
}

/** The words a page was opened to show (`?highlight=`), folded. */
export function highlightParam(search: string): string[] {
  return queryWords(new URLSearchParams(search).get("highlight") ?? "");
}
