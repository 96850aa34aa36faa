import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { MessageMeta, turnUsage, usageLine } from "./MessageMeta";

const request = (input: number | null, output: number | null, ms: number | null, first: number | null = null) => ({
  input_tokens: input,
  output_tokens: output,
  model_ms: ms,
  first_token_ms: first,
  model: "gpt-test",
});

describe("MessageMeta", () => {
  it("sums a turn's model requests: tokens in and out, and model time", () => {
    const total = turnUsage([request(100, 12, 250, 40), request(130, 30, 1250)]);
    expect(total).toEqual({
      inputTokens: 230,
      outputTokens: 42,
      modelMs: 1500,
      firstTokenMs: 40,
      requests: 2,
      models: ["gpt-test"],
    });
    expect(usageLine(total!)).toBe("230 in · 42 out tokens · 1.5 s · 2 model requests");
  });

  it("says so when the provider reported no tokens", () => {
    expect(usageLine(turnUsage([request(null, null, 80)])!)).toBe("tokens not reported · 80 ms");
  });

  it("shows nothing for a turn without usage (stored before it was kept)", () => {
    const { container } = render(<MessageMeta usage={[]} />);
    expect(container).toBeEmptyDOMElement();
    render(<MessageMeta usage={undefined} />);
    expect(screen.queryByTestId("message-meta")).toBeNull();
  });

  it("renders the line, with the model and first token for screen readers and as a tooltip", () => {
    render(<MessageMeta usage={[request(5, 7, 12.4, 3)]} />);
    const meta = screen.getByTestId("message-meta");
    expect(meta).toHaveTextContent("5 in · 7 out tokens · 12 ms");
    expect(meta).toHaveTextContent("Model: gpt-test");
    expect(meta).toHaveAttribute("title", "Model: gpt-test\nFirst token after 3 ms");
  });
});
