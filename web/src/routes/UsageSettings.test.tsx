import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fakeApi, json, renderWith } from "../test/api";
import { UsageSettings } from "./UsageSettings";

afterEach(() => vi.unstubAllGlobals());

const totals = (input: number, output: number, messages: number, runs: number) => ({
  input_tokens: input,
  output_tokens: output,
  messages,
  runs,
  tool_calls: 1,
  model_ms: 1500,
});

function summary(period: "day" | "month", count: number) {
  const buckets = Array.from({ length: count }, (_, i) => ({
    start: new Date(Date.UTC(2026, period === "day" ? 10 : i, period === "day" ? i + 1 : 1)).toISOString(),
    ...(i === count - 1 ? totals(120, 30, 2, 2) : totals(0, 0, 0, 0)),
  }));
  return {
    period,
    tz: "UTC",
    since: buckets[0]!.start,
    until: "2026-11-30T12:00:00Z",
    ...totals(120, 30, 2, 2),
    by_agent: [{ agent_id: "assistant", ...totals(120, 30, 2, 2) }],
    buckets,
  };
}

describe("UsageSettings", () => {
  it("shows the last 30 days, then the last 12 months, in the browser's time zone", async () => {
    const calls = fakeApi({
      "GET /api/me/usage": ({ query }) =>
        json(query.get("period") === "month" ? summary("month", 12) : summary("day", 30)),
    });
    renderWith(<UsageSettings />, "/settings");
    const totalsLine = await screen.findByTestId("usage-totals");
    expect(totalsLine).toHaveTextContent("Last 30 days: 120 tokens in, 30 out, in 2 answers (2 turns, 1 tool call)");
    expect(within(screen.getByRole("list", { name: "Tokens per day" })).getAllByRole("listitem")).toHaveLength(30);
    const agents = screen.getByRole("table");
    expect(within(agents).getByRole("rowheader", { name: "assistant" })).toBeInTheDocument();
    expect(calls[0]?.query.get("tz")).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
    expect(screen.getByRole("button", { name: "By day" })).toHaveAttribute("aria-pressed", "true");

    await userEvent.click(screen.getByRole("button", { name: "By month" }));
    const months = await screen.findByRole("list", { name: "Tokens per month" });
    expect(within(months).getAllByRole("listitem")).toHaveLength(12);
    expect(screen.getByTestId("usage-totals")).toHaveTextContent("Last 12 months");
    expect(calls.at(-1)?.query.get("period")).toBe("month");
  });

  it("says when there is nothing yet", async () => {
    fakeApi({
      "GET /api/me/usage": () =>
        json({ ...summary("day", 30), ...totals(0, 0, 0, 0), by_agent: [], buckets: summary("day", 30).buckets.map((b) => ({ ...b, ...totals(0, 0, 0, 0) })) }),
    });
    renderWith(<UsageSettings />, "/settings");
    expect(await screen.findByText("Nothing yet in this period.")).toBeInTheDocument();
    expect(screen.queryByRole("table")).toBeNull();
  });

  it("shows an error the API answers", async () => {
    fakeApi({
      "GET /api/me/usage": () =>
        json({ type: "about:blank", title: "Unknown time zone", status: 422, code: "unknown_timezone", detail: "'X' is not an IANA time zone name." }, 422),
    });
    renderWith(<UsageSettings />, "/settings");
    expect(await screen.findByRole("alert")).toHaveTextContent("is not an IANA time zone name");
  });
});
