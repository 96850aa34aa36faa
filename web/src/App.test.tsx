import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, useLocation } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { session } from "./api/session";
import { App } from "./App";

const USER = {
  id: "u1",
  email: "alice@example.org",
  display_name: "Alice",
  is_admin: false,
  created_at: "2026-11-30T00:00:00Z",
};

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" },
  });
}

function Where() {
  const location = useLocation();
  return <output data-testid="where">{location.pathname + location.search}</output>;
}

function renderAt(path: string) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[path]}>
        <App />
        <Where />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe("sign-in flow", () => {
  let signedIn = false;
  const paths: string[] = [];

  beforeEach(() => {
    signedIn = false;
    paths.length = 0;
    vi.stubGlobal(
      "fetch",
      vi.fn(async (input: Request) => {
        const url = new URL(input.url);
        paths.push(`${input.method} ${url.pathname}${url.search}`);
        switch (url.pathname) {
          case "/api/auth/me":
            return signedIn ? json(200, USER) : json(401, { code: "not_authenticated", status: 401 });
          case "/api/auth/refresh":
            return json(401, { code: "invalid_refresh_token", status: 401 });
          case "/api/auth/login": {
            const body = (await input.json()) as { password: string; mode: string };
            if (body.password !== "plum orchard velvet") {
              return json(401, { code: "invalid_credentials", status: 401, detail: "no" });
            }
            signedIn = true;
            return json(200, { token_type: "cookie", expires_in: 900, session_id: "s1", csrf_token: "c" });
          }
          case "/api/auth/sessions":
            return json(200, { items: [], next_cursor: null });
          case "/api/threads":
            return json(200, { items: [], next_cursor: null });
          default:
            return json(404, { code: "not_found", status: 404 });
        }
      }),
    );
  });
  afterEach(() => {
    session.ended();
    vi.unstubAllGlobals();
  });

  it("sends an unauthenticated visit to /login?next=... and back there after signing in", async () => {
    renderAt("/settings");
    await waitFor(() => expect(screen.getByTestId("where")).toHaveTextContent("/login?next=%2Fsettings"));
    expect(screen.getByRole("heading", { level: 1, name: "Sign in" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Create an account" })).toBeInTheDocument();

    await userEvent.type(screen.getByLabelText("Email"), "alice@example.org");
    await userEvent.type(screen.getByLabelText("Password"), "wrong password!");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Wrong email or password.");

    await userEvent.clear(screen.getByLabelText("Password"));
    await userEvent.type(screen.getByLabelText("Password"), "plum orchard velvet");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(screen.getByTestId("where")).toHaveTextContent(/^\/settings$/));
    expect(await screen.findByRole("heading", { level: 1, name: "Account" })).toBeInTheDocument();
    expect(paths).toContain("POST /api/auth/login?mode=cookie");
  });

  it("never follows a next= that leaves the site", async () => {
    signedIn = true;
    renderAt("/login?next=//evil.example/x");
    await waitFor(() => expect(screen.getByTestId("where")).toHaveTextContent(/^\/$/));
  });
});
