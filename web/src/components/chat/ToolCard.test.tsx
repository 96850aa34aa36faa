import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { formatDuration, ToolCard } from "./ToolCard";

describe("ToolCard", () => {
  it("shows name, status and duration in the summary and arguments and result inside", async () => {
    render(
      <ToolCard
        tool={{ id: "c1", name: "add", arguments: '{"a":5,"b":3}', status: "ok", durationMs: 12.4, result: "8" }}
      />,
    );
    const card = screen.getByTestId("tool-card");
    expect(card.tagName).toBe("DETAILS");
    expect(card).toHaveAttribute("data-status", "ok");
    const summary = card.querySelector("summary");
    expect(summary).toHaveTextContent("add");
    expect(summary).toHaveTextContent("ok");
    expect(summary).toHaveTextContent("12 ms");
    expect(card).not.toHaveAttribute("open");
    await userEvent.click(summary as HTMLElement);
    expect(card).toHaveAttribute("open");
    expect(card).toHaveTextContent('"a": 5');
    expect(card).toHaveTextContent("Result");
    expect(card).toHaveTextContent("8");
  });

  it("marks running and error calls", () => {
    const { rerender } = render(
      <ToolCard tool={{ id: "c", name: "calculator", arguments: "{}", status: "running", durationMs: null, result: null }} />,
    );
    expect(screen.getByTestId("tool-card")).toHaveAttribute("data-status", "running");
    rerender(
      <ToolCard
        tool={{ id: "c", name: "calculator", arguments: "{}", status: "error", durationMs: 1500, result: "Error: ZeroDivisionError" }}
      />,
    );
    expect(screen.getByTestId("tool-card")).toHaveAttribute("data-status", "error");
    expect(screen.getByTestId("tool-card")).toHaveTextContent("1.5 s");
  });

  it("formats durations", () => {
    expect(formatDuration(null)).toBe("");
    expect(formatDuration(0.25)).toBe("0.3 ms");
    expect(formatDuration(42.4)).toBe("42 ms");
    expect(formatDuration(2345)).toBe("2.3 s");
  });
});
