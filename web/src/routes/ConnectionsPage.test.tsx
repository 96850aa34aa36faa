import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fakeApi, json, renderWith } from "../test/api";
import { ConnectionsPage, navigation } from "./ConnectionsPage";

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

/** A server with the user's connections; a PUT connects, a DELETE disconnects. */
function server(oauth = false) {
  let connected = false;
  return fakeApi({
    "GET /api/me/connections": () =>
      json({
        items: [
          {
            server_id: "tracker", agents: ["assistant"], connected, oauth,
            connected_at: connected ? "2026-12-03T00:00:00Z" : null,
          },
        ],
        next_cursor: null,
      }),
    "PUT /api/me/connections/tracker": () => {
      connected = true;
      return json(null, 204);
    },
    "DELETE /api/me/connections/tracker": () => {
      connected = false;
      return json(null, 204);
    },
    "POST /api/me/connections/tracker/oauth": () => json({ authorize_url: "https://tracker.example/authorize?x=1" }),
  });
}

describe("the connections page", () => {
  it("connects with a pasted token, clears the field and says connected; disconnects", async () => {
    const calls = server();
    renderWith(<ConnectionsPage />, "/settings/connections");
    const card = await screen.findByRole("region", { name: /tracker/ });
    expect(card).toHaveTextContent("Not connected");
    const field = within(card).getByLabelText("Token for tracker");
    expect(field).toHaveAttribute("type", "password");
    await userEvent.type(field, "secret-token{Enter}");
    expect(await within(card).findByText("Connected", { selector: ".status-badge" })).toBeInTheDocument();
    expect(within(card).getByRole("status")).toHaveTextContent("Connected. The token is stored");
    expect(within(card).getByLabelText("Replace the token for tracker")).toHaveValue("");
    expect(calls.find((c) => c.method === "PUT")?.body).toEqual({ token: "secret-token" });
    expect(card).not.toHaveTextContent("secret-token");

    await userEvent.click(within(card).getByRole("button", { name: "Disconnect" }));
    expect(await within(card).findByText("Not connected")).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "DELETE")).toHaveLength(1);
  });

  it("sends the browser to the server's sign-in for OAuth", async () => {
    server(true);
    const assign = vi.spyOn(navigation, "assign").mockImplementation(() => undefined);
    renderWith(<ConnectionsPage />, "/settings/connections");
    await userEvent.click(await screen.findByRole("button", { name: "Connect tracker" }));
    await vi.waitFor(() => expect(assign).toHaveBeenCalledWith("https://tracker.example/authorize?x=1"));
  });

  it("confirms the connection the OAuth sign-in came back with", async () => {
    server(true);
    renderWith(<ConnectionsPage />, "/settings/connections?connected=tracker");
    expect(await screen.findByTestId("connected-notice")).toHaveTextContent("Connected tracker.");
  });
});
