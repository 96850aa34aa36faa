import { describe, expect, it } from "vitest";
import { detailText, originText } from "./audit";
import { inviteLink } from "./invites";

describe("audit rows", () => {
  it("shows the detail as pairs, leaving out what is empty", () => {
    expect(
      detailText({ email: null, roles: [], mode: "cookie", sessions_ended: 0, granted: ["a", "b"], reason: "" }),
    ).toBe("mode: cookie · sessions ended: 0 · granted: a, b");
    expect(detailText({})).toBe("");
    expect(detailText(null)).toBe("");
    expect(detailText({ nested: { a: 1 } })).toBe('nested: {"a":1}');
  });

  it("shows times in the detail as dates", () => {
    const text = detailText({ expires_at: "2026-12-09T05:40:48.843756+00:00" });
    expect(text).toMatch(/^expires at: /);
    expect(text).not.toContain("05:40:48.843756");
  });

  it("says where a request came from", () => {
    expect(originText({ ip: "10.0.0.1", user_agent: "curl/8.0", request_id: "r1" })).toBe(
      "10.0.0.1 · curl/8.0 · request r1",
    );
    expect(originText({ ip: null, user_agent: null, request_id: null })).toBe("");
  });
});

describe("invite links", () => {
  it("keeps the server's absolute link, and makes a relative one this origin's", () => {
    expect(inviteLink({ link: "https://chat.example.org/register?invite=abc", token: "abc" }, "http://x")).toBe(
      "https://chat.example.org/register?invite=abc",
    );
    expect(inviteLink({ link: "/register?invite=abc", token: "abc" }, "http://localhost:8123")).toBe(
      "http://localhost:8123/register?invite=abc",
    );
    expect(inviteLink({ link: "", token: "a b" }, "http://h")).toBe("http://h/register?invite=a%20b");
  });
});
