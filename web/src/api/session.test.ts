import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { rememberCsrfToken } from "./csrf";
import { SessionManager } from "./session";

const URL_BASE = "http://localhost";

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

function memoryStorage() {
  const data = new Map<string, string>();
  return {
    getItem: (k: string) => data.get(k) ?? null,
    setItem: (k: string, v: string) => void data.set(k, v),
    removeItem: (k: string) => void data.delete(k),
  };
}

interface Call {
  method: string;
  path: string;
  csrf: string | null;
  credentials: RequestCredentials;
}

function server(handler: (call: Call, request: Request) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const fetchImpl = vi.fn(async (input: RequestInfo | URL) => {
    const request = input as Request;
    const call = {
      method: request.method,
      path: new URL(request.url).pathname,
      csrf: request.headers.get("X-CSRF-Token"),
      credentials: request.credentials,
    };
    calls.push(call);
    return handler(call, request);
  });
  return { calls, fetchImpl: fetchImpl as unknown as typeof fetch };
}

describe("SessionManager", () => {
  beforeEach(() => {
    document.cookie = "confide_csrf=cookie-token; path=/";
  });
  afterEach(() => {
    rememberCsrfToken(null);
    vi.useRealTimers();
  });

  it("asks for step-up on reauth_required and sends the change once more with its body", async () => {
    let confirmed = false;
    const bodies: string[] = [];
    const { calls, fetchImpl } = server(async (_call, request) => {
      bodies.push(await request.text());
      return confirmed ? json(200, { ok: true }) : json(401, { code: "reauth_required" });
    });
    const session = new SessionManager({ fetch: fetchImpl, storage: null, locks: null });
    const change = () => new Request(`${URL_BASE}/api/admin/users/1`, { method: "PATCH", body: '{"status":"disabled"}' });

    // Nobody to ask: the refusal is the answer.
    expect((await session.fetch(change())).status).toBe(401);
    // Declined: the refusal again, nothing re-sent.
    session.setStepUp(async () => false);
    expect((await session.fetch(change())).status).toBe(401);
    expect(calls).toHaveLength(2);
    // Confirmed: the same change, body included, goes out once more.
    session.setStepUp(async () => {
      confirmed = true;
      return true;
    });
    expect((await session.fetch(change())).status).toBe(200);
    expect(calls).toHaveLength(4);
    expect(bodies.slice(2)).toEqual(['{"status":"disabled"}', '{"status":"disabled"}']);
  });

  it("sends the CSRF cookie's value on unsafe methods only, with same-origin credentials", async () => {
    const { calls, fetchImpl } = server(() => json(200, {}));
    const session = new SessionManager({ fetch: fetchImpl, storage: null, locks: null });
    await session.fetch(new Request(`${URL_BASE}/api/threads`));
    await session.fetch(new Request(`${URL_BASE}/api/threads`, { method: "POST", body: "{}" }));
    await session.fetch(new Request(`${URL_BASE}/api/threads/1`, { method: "DELETE" }));
    expect(calls.map((c) => [c.method, c.csrf])).toEqual([
      ["GET", null],
      ["POST", "cookie-token"],
      ["DELETE", "cookie-token"],
    ]);
    expect(calls.every((c) => c.credentials === "same-origin")).toBe(true);
  });

  it("falls back to the token from the login response when no cookie is readable", async () => {
    document.cookie = "confide_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/";
    const { calls, fetchImpl } = server(() => json(200, {}));
    const session = new SessionManager({ fetch: fetchImpl, storage: null, locks: null });
    session.started({ expires_in: 900, csrf_token: "from-body" });
    await session.fetch(new Request(`${URL_BASE}/api/auth/logout`, { method: "POST" }));
    expect(calls[0]?.csrf).toBe("from-body");
    session.ended();
  });

  it("refreshes on a 401 and retries the request once, body included", async () => {
    let refreshed = false;
    const bodies: string[] = [];
    const { calls, fetchImpl } = server(async (call, request) => {
      if (call.path === "/api/auth/refresh") {
        refreshed = true;
        return json(200, { expires_in: 900, csrf_token: "t2", token_type: "cookie" });
      }
      bodies.push(await request.text());
      return refreshed ? json(200, { ok: true }) : json(401, { code: "not_authenticated" });
    });
    const session = new SessionManager({ fetch: fetchImpl, storage: null, locks: null });
    const response = await session.fetch(
      new Request(`${URL_BASE}/api/threads`, { method: "POST", body: '{"title":"x"}' }),
    );
    expect(response.status).toBe(200);
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      "POST /api/threads",
      "POST /api/auth/refresh",
      "POST /api/threads",
    ]);
    expect(calls[1]?.csrf).toBe("cookie-token");
    expect(bodies).toEqual(['{"title":"x"}', '{"title":"x"}']);
    session.ended();
  });

  it("shares one refresh between concurrent 401s", async () => {
    let refreshes = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { fetchImpl } = server(async (call) => {
      if (call.path === "/api/auth/refresh") {
        refreshes += 1;
        await gate;
        return json(200, { expires_in: 900, csrf_token: "t", token_type: "cookie" });
      }
      return refreshes > 0 ? json(200, {}) : json(401, { code: "token_expired" });
    });
    const session = new SessionManager({ fetch: fetchImpl, storage: null, locks: null });
    const pending = [1, 2, 3].map((i) => session.fetch(new Request(`${URL_BASE}/api/x/${i}`)));
    await new Promise((r) => setTimeout(r, 10));
    release();
    const responses = await Promise.all(pending);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(refreshes).toBe(1);
    session.ended();
  });

  it("signs out when the refresh is refused, and never retries sign-in itself", async () => {
    const { calls, fetchImpl } = server((call) =>
      json(401, { code: call.path === "/api/auth/refresh" ? "invalid_refresh_token" : "not_authenticated" }),
    );
    const session = new SessionManager({ fetch: fetchImpl, storage: null, locks: null });
    const signedOut = vi.fn();
    session.onSignedOut(signedOut);
    const me = await session.fetch(new Request(`${URL_BASE}/api/auth/me`));
    expect(me.status).toBe(401);
    expect(signedOut).toHaveBeenCalledTimes(1);
    const login = await session.fetch(
      new Request(`${URL_BASE}/api/auth/login`, { method: "POST", body: "{}" }),
    );
    expect(login.status).toBe(401);
    expect(calls.map((c) => c.path)).toEqual(["/api/auth/me", "/api/auth/refresh", "/api/auth/login"]);
  });

  it("leaves a wrong current password (invalid_credentials) to the caller", async () => {
    const { calls, fetchImpl } = server(() => json(401, { code: "invalid_credentials" }));
    const session = new SessionManager({ fetch: fetchImpl, storage: null, locks: null });
    const signedOut = vi.fn();
    session.onSignedOut(signedOut);
    const response = await session.fetch(
      new Request(`${URL_BASE}/api/auth/password`, { method: "POST", body: "{}" }),
    );
    expect(response.status).toBe(401);
    expect(calls.map((c) => c.path)).toEqual(["/api/auth/password"]);
    expect(signedOut).not.toHaveBeenCalled();
  });

  it("signs out at once when the session has ended", async () => {
    const { calls, fetchImpl } = server(() => json(401, { code: "session_expired" }));
    const session = new SessionManager({ fetch: fetchImpl, storage: null, locks: null });
    const signedOut = vi.fn();
    session.onSignedOut(signedOut);
    await session.fetch(new Request(`${URL_BASE}/api/threads`));
    expect(calls.map((c) => c.path)).toEqual(["/api/threads"]);
    expect(signedOut).toHaveBeenCalledTimes(1);
  });

  it("does not try to refresh without a browser session (no CSRF cookie)", async () => {
    document.cookie = "confide_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/";
    const { calls, fetchImpl } = server(() => json(401, { code: "not_authenticated" }));
    const session = new SessionManager({ fetch: fetchImpl, storage: null, locks: null });
    const signedOut = vi.fn();
    session.onSignedOut(signedOut);
    expect((await session.fetch(new Request(`${URL_BASE}/api/auth/me`))).status).toBe(401);
    expect(calls.map((c) => c.path)).toEqual(["/api/auth/me"]);
    expect(signedOut).toHaveBeenCalledTimes(1);
  });

  it("refreshes silently 60 s before the access token expires", async () => {
    vi.useFakeTimers();
    const { calls, fetchImpl } = server(() =>
      json(200, { expires_in: 900, csrf_token: "t", token_type: "cookie" }),
    );
    const storage = memoryStorage();
    const session = new SessionManager({ fetch: fetchImpl, storage, locks: null, now: () => Date.now() });
    session.started({ expires_in: 900, csrf_token: "t" });
    await vi.advanceTimersByTimeAsync(839_000);
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls.map((c) => c.path)).toEqual(["/api/auth/refresh"]);
    expect(Number(storage.getItem("confide.accessExpiresAt"))).toBeGreaterThan(Date.now());
    session.ended();
  });

  it("skips its refresh when another tab refreshed while it waited for the lock", async () => {
    const storage = memoryStorage();
    const { calls, fetchImpl } = server(() => json(200, {}));
    // A lock whose holder (another tab) refreshes before handing it over.
    const locks = {
      request: async (_name: string, task: () => Promise<unknown>) => {
        storage.setItem("confide.refreshedAt", String(Date.now() + 5));
        storage.setItem("confide.accessExpiresAt", String(Date.now() + 900_000));
        return task();
      },
    } as unknown as LockManager;
    const session = new SessionManager({ fetch: fetchImpl, storage, locks });
    await expect(session.refresh()).resolves.toBe(true);
    expect(calls).toHaveLength(0);
    session.ended();
  });
});
