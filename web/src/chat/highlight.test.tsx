import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Markdown } from "../components/chat/Markdown";
import { Highlighted } from "../components/Highlighted";
import { highlightParam, queryWords, segments } from "./highlight";

describe("highlighting the words searched for", () => {
  it("reads a query as the index does: whole words, folded, 2 letters or more, distinct", () => {
    expect(queryWords("Café  LISBON, a lisbon trip_plan")).toEqual(["cafe", "lisbon", "trip", "plan"]);
    expect(highlightParam("?highlight=R%C3%A9sum%C3%A9")).toEqual(["resume"]);
    expect(highlightParam("?q=x")).toEqual([]);
  });

  it("marks whole words whatever their case and accents, never parts of words", () => {
    const words = queryWords("lisbon cafe");
    expect(segments("Lisbon's café, not Lisbonne", words)).toEqual([
      { text: "Lisbon", match: true },
      { text: "'s ", match: false },
      { text: "café", match: true },
      { text: ", not Lisbonne", match: false },
    ]);
    expect(segments("nothing here", words)).toEqual([{ text: "nothing here", match: false }]);
    expect(segments("anything", [])).toEqual([{ text: "anything", match: false }]);
  });

  it("renders the matches in <mark>, in plain text and in markdown's text (not in code)", () => {
    const plain = render(<Highlighted text="Trip to Lisbon" words={["lisbon"]} />);
    expect([...plain.container.querySelectorAll("mark")].map((m) => m.textContent)).toEqual(["Lisbon"]);
    expect(plain.container.textContent).toBe("Trip to Lisbon");
    const md = render(<Markdown text={"**Lisbon** hotels: `lisbon()` and [LISBON](https://example.org)"} highlight={["lisbon"]} />);
    const marks = [...md.container.querySelectorAll("mark")];
    expect(marks.map((m) => m.textContent)).toEqual(["Lisbon", "LISBON"]);
    expect(marks.map((m) => m.parentElement?.tagName)).toEqual(["STRONG", "A"]);
    expect(md.container.querySelector("code")?.textContent).toBe("lisbon()");
    expect(md.container.querySelector("a")).toHaveAttribute("href", "https://example.org");
  });

  it("marks whole words only in markdown, keeping all the text around them", () => {
    const md = render(<Markdown text="Lisbonne, xlisbon and lisbon; a hotels b hotels." highlight={["lisbon", "hotels"]} />);
    expect([...md.container.querySelectorAll("mark")].map((m) => m.textContent)).toEqual(["lisbon", "hotels", "hotels"]);
    expect(md.container.textContent).toBe("Lisbonne, xlisbon and lisbon; a hotels b hotels.");
  });

  it("leaves markdown as it was without words", () => {
    const md = render(<Markdown text="Lisbon" highlight={[]} />);
    expect(md.container.querySelector("mark")).toBeNull();
  });
});
