import { describe, expect, it } from "vitest";
import { TITLE_LENGTH, titleFromMessage } from "./title";

// The same cases as the server's rule (confide.threads.service.title_from).
describe("titleFromMessage", () => {
  it("collapses whitespace to single spaces on one line", () => {
    expect(titleFromMessage("  add 5\n\tand   3  ")).toBe("add 5 and 3");
    expect(titleFromMessage("a\u00a0b\u3000c\u2028d\x1ce")).toBe("a b c d e");
  });

  it("keeps a title of exactly the limit", () => {
    const exact = "x".repeat(TITLE_LENGTH);
    expect(titleFromMessage(exact)).toBe(exact);
  });

  it("cuts a longer one at a word, with an ellipsis, within the limit", () => {
    const words = Array.from({ length: 30 }, (_, i) => `word${i}`).join(" ");
    const title = titleFromMessage(words);
    expect(title.endsWith("…")).toBe(true);
    expect(Array.from(title).length).toBeLessThanOrEqual(TITLE_LENGTH);
    expect(words.startsWith(title.slice(0, -1))).toBe(true);
    expect(words[title.length - 1]).toBe(" "); // the cut falls between two words
    // What title_from gives for the same text.
    expect(title).toBe("word0 word1 word2 word3 word4 word5 word6 word7 word8 word9 word10 word11…");
  });

  it("cuts one long word at the limit", () => {
    expect(titleFromMessage("y".repeat(100))).toBe("y".repeat(TITLE_LENGTH - 1) + "…");
  });

  it("counts characters as Python does (code points, not UTF-16 units)", () => {
    const emoji = "😀".repeat(TITLE_LENGTH);
    expect(titleFromMessage(emoji)).toBe(emoji);
    expect(titleFromMessage(emoji + "😀")).toBe("😀".repeat(TITLE_LENGTH - 1) + "…");
  });
});
