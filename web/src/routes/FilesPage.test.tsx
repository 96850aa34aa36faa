import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { session } from "../api/session";
import { App } from "../App";
import { fakeApi, json, me, renderWith } from "../test/api";

const NOTES = {
  id: "f1", name: "notes.txt", content_type: "text/plain", size: 2048, kind: "text", sha256: "0".repeat(64),
  created_at: "2026-12-04T10:00:00Z", text_chars: 2048, lines: 3, pages: null,
};
const REPORT = { ...NOTES, id: "f2", name: "report.pdf", content_type: "application/pdf", kind: "pdf", pages: 2 };

afterEach(() => {
  session.ended();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("FilesPage", () => {
  it("lists the files with the storage used, and deletes one", async () => {
    let files = [REPORT, NOTES];
    const calls = fakeApi({
      "GET /api/auth/me": () => json(me()),
      "GET /api/threads": () => json({ items: [], next_cursor: null }),
      "GET /api/agents": () => json({ items: [], next_cursor: null }),
      "GET /api/files": () => json({ items: files, next_cursor: null }),
      "GET /api/files/usage": () =>
        json({
          used_bytes: files.length * 2048, quota_bytes: 200 * 1024 * 1024, max_file_bytes: 10 * 1024 * 1024,
          types: ["text", "pdf", "image"], context_tokens: 8000,
        }),
      "DELETE /api/files/f1": () => {
        files = [REPORT];
        return json(null, 204);
      },
    });
    renderWith(<App />, "/files");
    const rows = await screen.findAllByTestId("file-row");
    expect(rows.map((r) => within(r).getAllByRole("cell")[0]?.textContent)).toEqual(["report.pdf", "notes.txt"]);
    expect(rows[0]).toHaveTextContent("PDF, 2 pages");
    expect(rows[1]).toHaveTextContent("3 lines");
    expect(await screen.findByTestId("files-usage")).toHaveTextContent("4.0 KB of 200 MB used");
    expect(screen.getByRole("link", { name: "Files" })).toHaveAttribute("aria-current", "page");

    await userEvent.click(screen.getByRole("button", { name: "Delete notes.txt" }));
    await waitFor(() => expect(screen.getAllByTestId("file-row")).toHaveLength(1));
    expect(calls.some((c) => c.method === "DELETE" && c.path === "/api/files/f1")).toBe(true);
    expect(await screen.findByTestId("files-usage")).toHaveTextContent("2.0 KB of 200 MB used");
  });
});
