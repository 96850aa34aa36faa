import { Fragment } from "react";
import { segments } from "../chat/highlight";

/** Plain text with the words searched for (folded: chat/highlight.ts `queryWords`) in `<mark>`. */
export function Highlighted({ text, words }: { text: string; words: readonly string[] }) {
  return (
    <>
      {segments(text, words).map((part, i) =>
        // Segments of one text never reorder: their index is a stable key.
        part.match ? <mark key={i}>{part.text}</mark> : <Fragment key={i}>{part.text}</Fragment>,
      )}
    </>
  );
}
