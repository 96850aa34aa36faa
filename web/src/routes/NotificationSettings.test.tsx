import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fakeApi, json, renderWith, type Call } from "../test/api";
import { NotificationSettings, orderOf } from "./NotificationSettings";

afterEach(() => {
  vi.unstubAllGlobals();
});

function channels(extra: Record<string, unknown> = {}) {
  return { order: ["email"], slack_user_id: null, slack_available: true, email_available: true, ...extra };
}

describe("notification settings", () => {
  it("adds Slack after email with a member id, and saves the order", async () => {
    const calls = fakeApi({
      "GET /api/me/channels": () => json(channels()),
      "PUT /api/me/channels": (call: Call) => json(channels(call.body as Record<string, unknown>)),
    });
    renderWith(<NotificationSettings />);
    const email = await screen.findByRole("checkbox", { name: /Email/ });
    expect(email).toBeChecked();
    await userEvent.click(screen.getByRole("checkbox", { name: /Slack/ }));
    const save = screen.getByRole("button", { name: "Save" });
    expect(screen.getByText("Slack needs your member id.")).toBeInTheDocument();
    expect(save).toBeDisabled();
    await userEvent.type(screen.getByLabelText("Slack member id"), "u0123abcd");
    await userEvent.selectOptions(screen.getByLabelText("Try first"), "slack");
    await userEvent.click(save);
    expect(await screen.findByText("Saved: Slack, then Email, and this app.")).toBeInTheDocument();
    expect(calls.find((c) => c.method === "PUT")?.body).toEqual({ order: ["slack", "email"], slack_user_id: "U0123ABCD" });
  });

  it("offers no Slack where the server has none, and refuses a malformed member id", async () => {
    fakeApi({ "GET /api/me/channels": () => json(channels({ slack_available: false, slack_user_id: "nope!" })) });
    renderWith(<NotificationSettings />);
    expect(await screen.findByRole("checkbox", { name: /Slack/ })).toBeDisabled();
    expect(screen.getByText("(this server has no Slack app)")).toBeInTheDocument();
    expect(screen.getByText("A Slack member id looks like U0123ABCD.")).toBeInTheDocument();
  });

  it("orders the chosen channels", () => {
    expect(orderOf({ email: true, slack: true, first: "email" })).toEqual(["email", "slack"]);
    expect(orderOf({ email: true, slack: true, first: "slack" })).toEqual(["slack", "email"]);
    expect(orderOf({ email: false, slack: true, first: "email" })).toEqual(["slack"]);
    expect(orderOf({ email: false, slack: false, first: "email" })).toEqual([]);
  });
});
