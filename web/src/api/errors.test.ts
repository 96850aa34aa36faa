import { describe, expect, it } from "vitest";
import { errorMessage, problemError, responseError } from "./errors";

function problem(code: string, extra: Record<string, unknown> = {}) {
  return { type: `urn:confide:problem:${code}`, title: "Too many requests", status: 429, code, detail: "Too many messages; try again in 42 s.", ...extra };
}

describe("429 messages", () => {
  it("say how long to wait past a budget", () => {
    const error = problemError(429, problem("rate_limited", { retry_after: 42 }));
    expect(error.code).toBe("rate_limited");
    expect(errorMessage(error)).toBe("Too many requests — try again in 42 s.");
  });

  it("give long waits in minutes", () => {
    expect(problemError(429, problem("rate_limited", { retry_after: 1800 })).message).toBe(
      "Too many requests — try again in 30 min.",
    );
  });

  it("fall back to the server's detail without a wait", () => {
    expect(problemError(429, problem("rate_limited")).message).toBe("Too many messages; try again in 42 s.");
  });

  it("read the wait from Retry-After when the body has none", async () => {
    const response = new Response(JSON.stringify(problem("rate_limited")), {
      status: 429,
      headers: { "Content-Type": "application/problem+json", "Retry-After": "7" },
    });
    expect((await responseError(response)).message).toBe("Too many requests — try again in 7 s.");
  });

  it("keep the sign-in lockout's wording", () => {
    expect(problemError(429, problem("account_locked", { retry_after: 30 })).message).toBe(
      "Too many attempts — try again in 30 s.",
    );
  });
});
