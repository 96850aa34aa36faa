import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { session } from "../api/session";
import { App } from "../App";
import { fakeApi, json, me, renderWith } from "../test/api";

const page = {
  "GET /api/auth/me": () => json(me()),
  "GET /api/threads": () => json({ items: [], next_cursor: null }),
  "GET /api/agents": () => json({ items: [], next_cursor: null }),
  "GET /api/auth/sessions": () => json({ items: [], next_cursor: null }),
  "GET /api/auth/events": () => json({ items: [], next_cursor: null }),
  "GET /api/auth/mfa": () => json({ enabled: false, pending: false, methods: [], backup_codes_remaining: 0 }),
  "GET /api/auth/passkeys": () => json({ items: [], next_cursor: null }),
};

type Phone = { number: string; verified: boolean; verified_at: string | null };

afterEach(() => {
  session.ended();
  vi.unstubAllGlobals();
});

function section() {
  return screen.getByRole("region", { name: "Phone number" });
}

describe("phone settings", () => {
  it("adds a number, verifies it with the texted code, and removes it", async () => {
    let phone: Phone | null = null;
    const calls = fakeApi({
      ...page,
      "GET /api/auth/phone": () => (phone ? json(phone) : json({ code: "no_phone", status: 404, title: "No phone" }, 404)),
      "PUT /api/auth/phone": () => {
        phone = { number: "+4915112345678", verified: false, verified_at: null };
        return json(phone, 202);
      },
      "POST /api/auth/phone/verify": (call) => {
        if ((call.body as { code: string }).code !== "123456") {
          return json({ code: "invalid_code", status: 400, title: "The code is not correct", attempts_left: 2 }, 400);
        }
        phone = { number: "+4915112345678", verified: true, verified_at: "2026-12-03T08:00:00Z" };
        return json(phone);
      },
      "DELETE /api/auth/phone": () => {
        phone = null;
        return json(null, 204);
      },
    });
    renderWith(<App />, "/settings");
    const field = await within(await screen.findByRole("region", { name: "Phone number" })).findByLabelText(
      "Phone number",
    );
    await userEvent.type(field, "+49 151 1234 5678");
    await userEvent.click(within(section()).getByRole("button", { name: "Add phone number" }));
    expect(await within(section()).findByText("+4915112345678")).toBeInTheDocument();
    expect(within(section()).getByTestId("phone-state")).toHaveTextContent("Not verified yet");
    expect(calls.find((c) => c.method === "PUT")?.body).toEqual({ number: "+49 151 1234 5678" });

    const code = within(section()).getByLabelText("Code from the text message");
    await userEvent.type(code, "000000");
    await userEvent.click(within(section()).getByRole("button", { name: "Verify number" }));
    expect(await within(section()).findByText("The code is not correct")).toBeInTheDocument();
    await userEvent.type(within(section()).getByLabelText("Code from the text message"), " 123456 ");
    await userEvent.click(within(section()).getByRole("button", { name: "Verify number" }));
    await waitFor(() => expect(within(section()).getByTestId("phone-state")).toHaveTextContent(/^Verified/));
    expect(within(section()).queryByLabelText("Code from the text message")).toBeNull();
    expect(calls.filter((c) => c.path === "/api/auth/phone/verify").map((c) => c.body)).toEqual([
      { code: "000000" },
      { code: "123456" },
    ]);

    await userEvent.click(within(section()).getByRole("button", { name: "Remove phone number" }));
    expect(await within(section()).findByLabelText("Phone number")).toBeInTheDocument();
    expect(within(section()).queryByTestId("phone")).toBeNull();
    expect(calls.filter((c) => c.method === "DELETE")).toHaveLength(1);
  });

  it("shows why a number was refused and keeps what was typed", async () => {
    fakeApi({
      ...page,
      "GET /api/auth/phone": () => json({ code: "no_phone", status: 404 }, 404),
      "PUT /api/auth/phone": () =>
        json(
          {
            code: "invalid_phone_number",
            status: 422,
            title: "Give the number in international form",
            detail: "Start the number with + and the country code.",
          },
          422,
        ),
    });
    renderWith(<App />, "/settings");
    const field = await within(await screen.findByRole("region", { name: "Phone number" })).findByLabelText(
      "Phone number",
    );
    await userEvent.type(field, "0151 1234");
    await userEvent.click(within(section()).getByRole("button", { name: "Add phone number" }));
    expect(await within(section()).findByRole("alert")).toBeInTheDocument();
    expect(within(section()).getByLabelText("Phone number")).toHaveValue("0151 1234");
    expect(within(section()).queryByTestId("phone")).toBeNull();
  });
});
