import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Markdown } from "./Markdown";

describe("Markdown", () => {
  it("renders markdown but never the model's raw HTML or script URLs", () => {
    const { container } = render(
      <Markdown
        text={'**bold** <script>alert(1)</script><img src=x onerror="alert(1)">\n\n[click](javascript:alert(1)) [ok](https://example.org)'}
      />,
    );
    expect(container.querySelector("strong")).toHaveTextContent("bold");
    expect(container.querySelector("script")).toBeNull();
    expect(container.querySelector("img")).toBeNull();
    const links = [...container.querySelectorAll("a")];
    expect(links.map((a) => a.getAttribute("href"))).toEqual(["", "https://example.org"]);
    expect(links[1]).toHaveAttribute("rel", "noopener noreferrer");
  });

  it("highlights fenced code", () => {
    const { container } = render(<Markdown text={"```python\ndef f():\n    return 1\n```"} />);
    const code = container.querySelector("pre code");
    expect(code).toHaveClass("hljs");
    expect(code?.querySelector(".hljs-keyword")).toHaveTextContent("def");
  });
});
