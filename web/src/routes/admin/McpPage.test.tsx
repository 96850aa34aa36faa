import { screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fakeApi, json, renderWith } from "../../test/api";
import { McpPage } from "./McpPage";

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("the MCP servers page", () => {
  it("shows each server's state, tools and last error", async () => {
    fakeApi({
      "GET /api/admin/mcp": () =>
        json({ next_cursor: null, items: [
          {
            id: "files", transport: "stdio", state: "ready", last_error: null, auth: "none", agents: ["assistant"],
            tools: [
              { name: "read", model_name: "files_read", description: "Read a file", requires_approval: false },
              { name: "delete", model_name: "files_delete", description: "", requires_approval: true },
            ],
            updated_at: "2026-12-03T00:00:00Z",
          },
          {
            id: "tracker", transport: "http", state: "down", last_error: "connection refused", auth: "user",
            agents: ["assistant", "calculator"], tools: [], updated_at: null,
          },
        ] }),
    });
    renderWith(<McpPage />);
    const files = await screen.findByRole("region", { name: /files/ });
    expect(files).toHaveAttribute("data-state", "ready");
    expect(within(files).getByText("Ready")).toBeInTheDocument();
    const tools = within(files).getAllByTestId("mcp-tool");
    expect(tools.map((t) => t.textContent)).toEqual([
      "files_read (read) — Read a file",
      "files_delete (delete)needs approval",
    ]);
    const tracker = screen.getByRole("region", { name: /tracker/ });
    expect(within(tracker).getByText("Down")).toBeInTheDocument();
    expect(within(tracker).getByTestId("mcp-last-error")).toHaveTextContent("connection refused");
    expect(tracker).toHaveTextContent("each user connects their own account");
    expect(tracker).toHaveTextContent("agents: assistant, calculator");
  });

  it("says when there are none", async () => {
    fakeApi({ "GET /api/admin/mcp": () => json({ items: [], next_cursor: null }) });
    renderWith(<McpPage />);
    expect(await screen.findByTestId("mcp-empty")).toHaveTextContent("No MCP servers are configured.");
  });
});
