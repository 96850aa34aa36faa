import { screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderWith } from "../../test/api";
import { serverToConnect, ToolCard } from "./ToolCard";

describe("a tool result asking to connect an MCP server first", () => {
  it("links to Settings → Connections", () => {
    const result = "Error: connect tracker first (Settings → Connections)";
    renderWith(
      <ToolCard tool={{ id: "c", name: "tracker_search", arguments: "{}", status: "error", durationMs: 2, result }} />,
    );
    expect(screen.getByTestId("connect-hint")).toHaveTextContent("This tool needs your account on tracker");
    expect(screen.getByRole("link", { name: /Settings → Connections/ })).toHaveAttribute("href", "/settings/connections");
  });

  it("finds the server only in that message", () => {
    expect(serverToConnect("Error: connect tracker first (Settings → Connections)")).toBe("tracker");
    expect(serverToConnect("8")).toBeNull();
    expect(serverToConnect(null)).toBeNull();
  });
});
