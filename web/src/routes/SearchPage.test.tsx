import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes, useLocation } from "react-router";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MessageList } from "../components/chat/MessageList";
import { fakeApi, json } from "../test/api";
import { SearchPage } from "./SearchPage";

const HIT = {
  thread_id: "t1", thread_title: "Trip planning", message_id: "m2", seq: 2, role: "assistant",
  snippet: "…the hotels of Lisbon by the river…", matched_words: 2, score: 1.5,
  created_at: "2026-11-30T10:00:00Z",
};
const TITLE_HIT = {
  ...HIT, thread_id: "t2", thread_title: "Lisbon office", message_id: null, seq: null, role: null,
  snippet: "Lisbon office", matched_words: 1,
};

function Where() {
  const location = useLocation();
  return <p data-testid="where">{location.pathname + location.search + location.hash}</p>;
}

function renderAt(path: string) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path="/search" element={<SearchPage />} />
          <Route path="/chat/:threadId" element={<p>thread</p>} />
        </Routes>
        <Where />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe("SearchPage", () => {
  it("shows each hit's thread, who wrote it, its snippet, and links to the message", async () => {
    const calls = fakeApi({
      "GET /api/me/search": () => json({ items: [HIT, TITLE_HIT], next_cursor: null }),
    });
    renderAt("/search?q=lisbon%20hotels");
    const results = await screen.findByRole("list", { name: "Search results" });
    const found = await within(results).findAllByTestId("search-result");
    expect(found).toHaveLength(2);
    const [first, second] = found as [HTMLElement, HTMLElement];
    expect(first).toHaveTextContent("Trip planning");
    expect(first).toHaveTextContent("Assistant");
    expect(first).toHaveTextContent("…the hotels of Lisbon by the river…");
    expect(within(first).getByRole("link")).toHaveAttribute("href", "/chat/t1?highlight=lisbon+hotels#message-m2");
    // The words searched for are marked, whatever their case.
    expect([...first.querySelectorAll("mark")].map((m) => m.textContent)).toEqual(["hotels", "Lisbon"]);
    expect(second).toHaveTextContent("Title");
    expect(within(second).getByRole("link")).toHaveAttribute("href", "/chat/t2?highlight=lisbon+hotels");
    expect([...second.querySelectorAll("mark")].map((m) => m.textContent)).toEqual(["Lisbon", "Lisbon"]);
    expect(calls[0]?.query.get("q")).toBe("lisbon hotels");
    await userEvent.click(within(first).getByRole("link"));
    expect(screen.getByTestId("where")).toHaveTextContent("/chat/t1?highlight=lisbon+hotels#message-m2");
  });

  it("searches what is typed, says when nothing matches, and asks nothing for no words", async () => {
    const calls = fakeApi({ "GET /api/me/search": () => json({ items: [], next_cursor: null }) });
    renderAt("/search");
    expect(screen.queryByRole("status")).toBeNull();
    expect(calls).toHaveLength(0);
    await userEvent.type(screen.getByRole("searchbox", { name: "Search messages" }), "quokka{Enter}");
    expect(await screen.findByText("Nothing matches “quokka”.")).toBeInTheDocument();
    expect(screen.getByTestId("where")).toHaveTextContent("/search?q=quokka");
    expect(calls.map((c) => c.query.get("q"))).toEqual(["quokka"]);
  });

  it("loads more results from the next cursor", async () => {
    const calls = fakeApi({
      "GET /api/me/search": ({ query }) =>
        query.get("cursor")
          ? json({ items: [TITLE_HIT], next_cursor: null })
          : json({ items: [HIT], next_cursor: "c2" }),
    });
    renderAt("/search?q=lisbon");
    await screen.findByText("Trip planning");
    await userEvent.click(screen.getByRole("button", { name: "More results" }));
    await waitFor(() => expect(screen.getAllByTestId("search-result")[1]).toHaveTextContent("Lisbon office"));
    expect(screen.getAllByTestId("search-result")).toHaveLength(2);
    expect(calls.map((c) => c.query.get("cursor"))).toEqual([null, "c2"]);
    expect(screen.queryByRole("button", { name: "More results" })).toBeNull();
  });
});

describe("MessageList", () => {
  it("lands on the message a link names, marked", () => {
    const scrolled: string[] = [];
    Element.prototype.scrollIntoView = vi.fn(function (this: Element) {
      scrolled.push(this.getAttribute("data-message-ids") ?? "end");
    });
    const items = [
      { kind: "user" as const, key: "m1", text: "Flights to Lisbon?", message: null, branch: null },
      {
        kind: "assistant" as const, key: "m2", streaming: false, branch: null, regenerate: null, continueRun: null,
        parts: [
          { kind: "text" as const, key: "m2", text: "Looking.", streaming: false, interrupted: null },
          { kind: "text" as const, key: "m4", text: "Lisbon hotels.", streaming: false, interrupted: null },
        ],
      },
    ];
    render(
      <MemoryRouter initialEntries={["/chat/t1#message-m4"]}>
        <MessageList items={items} status="" />
      </MemoryRouter>,
    );
    const [question, answer] = screen.getAllByTestId("message") as [HTMLElement, HTMLElement];
    expect(answer).toHaveClass("search-target");
    expect(scrolled).toEqual(["m2 m4"]);
    expect(question).not.toHaveClass("search-target");
  });

  const items = [
    { kind: "user" as const, key: "m1", text: "Flights to Lisbon?", message: null, branch: null },
    {
      kind: "assistant" as const, key: "m2", streaming: false, branch: null, regenerate: null, continueRun: null,
      parts: [{ kind: "text" as const, key: "m4", text: "**Lisbon** hotels.", streaming: false, interrupted: null }],
    },
  ];

  function marksAt(url: string): string[][] {
    render(
      <MemoryRouter initialEntries={[url]}>
        <MessageList items={items} status="" />
      </MemoryRouter>,
    );
    return screen.getAllByTestId("message").map((m) => [...m.querySelectorAll("mark")].map((x) => x.textContent ?? ""));
  }

  it("marks the words searched for in the message a result opened", () => {
    Element.prototype.scrollIntoView = vi.fn();
    expect(marksAt("/chat/t1?highlight=lisbon+HOTELS#message-m4")).toEqual([[], ["Lisbon", "hotels"]]);
  });

  it("marks them in every message when a thread was found, and lands on the first", () => {
    const scrolled: string[] = [];
    Element.prototype.scrollIntoView = vi.fn(function (this: Element) {
      scrolled.push(this.getAttribute("data-message-ids") ?? "end");
    });
    expect(marksAt("/chat/t1?highlight=lisbon")).toEqual([["Lisbon"], ["Lisbon"]]);
    expect(scrolled).toEqual(["m1"]);
    expect(screen.getAllByTestId("message")[0]).toHaveClass("search-target");
  });
});
