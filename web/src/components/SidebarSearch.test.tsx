import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fakeApi, json, renderWith } from "../test/api";
import { Sidebar } from "./Sidebar";

afterEach(() => vi.unstubAllGlobals());

describe("Sidebar search", () => {
  it("hands the words typed to the message search at once", async () => {
    fakeApi({ "GET /api/threads": () => json({ items: [], next_cursor: null }) });
    renderWith(<Sidebar onNavigate={() => undefined} />);
    const link = screen.getByRole("link", { name: "Search in messages" });
    expect(link).toHaveAttribute("href", "/search");
    await userEvent.type(screen.getByRole("searchbox", { name: "Search threads" }), "lisbon trip");
    expect(link).toHaveAttribute("href", "/search?q=lisbon+trip");
  });
});
