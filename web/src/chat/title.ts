// The title the server gives an untitled thread when its first user message is stored
// (confide.threads.service.title_from), so the page can show it before the thread is read again.

export const TITLE_LENGTH = 80;

// What Python's str.split() splits on (str.isspace), not JavaScript's \s: no U+FEFF, but the
// information separators U+001C-U+001F and U+0085.
const WHITESPACE = /[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;

/** One line, whitespace runs as single spaces, at most TITLE_LENGTH characters (code points, as
 * Python counts), a longer one cut at a word with "…". */
export function titleFromMessage(text: string): string {
  const line = text.split(WHITESPACE).filter(Boolean).join(" ");
  const chars = Array.from(line);
  if (chars.length <= TITLE_LENGTH) return line;
  const head = chars.slice(0, TITLE_LENGTH - 1).join("");
  const space = head.lastIndexOf(" ");
  return (space === -1 ? head : head.slice(0, space)) + "…";
}
