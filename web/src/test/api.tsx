// A fake API for component tests: `fetch` stubbed with handlers by "METHOD /path".
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router";
import { vi } from "vitest";

export function json(body: unknown, status = 200): Response {
  if (status === 204) return new Response(null, { status });
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" },
  });
}

export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

type Handler = (call: Call) => Response | Promise<Response>;

/** What every page's sidebar reads, answered empty unless a test says otherwise. */
const SIDEBAR: Record<string, Handler> = {
  "GET /api/folders": () => json({ items: [], next_cursor: null }),
};

/** Stub `fetch`; returns every call made, in order. An unknown route answers 404. */
export function fakeApi(routes: Record<string, Handler>): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (request: Request) => {
      const url = new URL(request.url);
      const text = request.method === "GET" ? "" : await request.text();
      const call = { method: request.method, path: url.pathname, query: url.searchParams, body: text ? JSON.parse(text) : null };
      calls.push(call);
      // Looked up at each call: a test may add routes after this.
      const route = `${request.method} ${url.pathname}`;
      const handler = routes[route] ?? SIDEBAR[route];
      return handler ? handler(call) : json({ code: "not_found", status: 404 }, 404);
    }),
  );
  return calls;
}

export const ADMIN_PERMISSIONS = [
  "threads:read",
  "threads:write",
  "threads:share",
  "agents:use:*",
  "users:read",
  "users:manage",
  "roles:manage",
  "invites:manage",
  "audit:read",
];

export function me(overrides: Record<string, unknown> = {}) {
  return {
    id: "u-admin",
    email: "admin@example.org",
    display_name: "Ada",
    is_admin: true,
    created_at: "2026-11-30T00:00:00Z",
    status: "active",
    roles: ["admin", "user"],
    permissions: ADMIN_PERMISSIONS,
    ...overrides,
  };
}

export function renderWith(ui: ReactNode, path = "/") {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[path]}>{ui}</MemoryRouter>
    </QueryClientProvider>,
  );
}
