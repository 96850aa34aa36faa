import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { Composer } from "./Composer";

describe("Composer", () => {
  it("sends on Enter and keeps Shift+Enter as a new line", async () => {
    const onSend = vi.fn();
    render(<Composer onSend={onSend} running={false} />);
    const box = screen.getByRole("textbox", { name: "Message" });
    await userEvent.type(box, "first line{Shift>}{Enter}{/Shift}second");
    expect(box).toHaveValue("first line\nsecond");
    expect(onSend).not.toHaveBeenCalled();
    await userEvent.keyboard("{Enter}");
    expect(onSend).toHaveBeenCalledWith("first line\nsecond");
    expect(box).toHaveValue("");
  });

  it("sends with the Send button, never an empty message", async () => {
    const onSend = vi.fn();
    render(<Composer onSend={onSend} running={false} />);
    const send = screen.getByRole("button", { name: "Send" });
    expect(send).toBeDisabled();
    await userEvent.type(screen.getByLabelText("Message"), "   ");
    expect(send).toBeDisabled();
    await userEvent.type(screen.getByLabelText("Message"), "hi");
    await userEvent.click(send);
    expect(onSend).toHaveBeenCalledWith("hi");
  });

  it("does not send while a run is going, and offers Stop", async () => {
    const onSend = vi.fn();
    const onStop = vi.fn();
    render(<Composer onSend={onSend} onStop={onStop} running />);
    await userEvent.type(screen.getByLabelText("Message"), "next{Enter}");
    expect(onSend).not.toHaveBeenCalled();
    expect(screen.getByRole("button", { name: "Send" })).toBeDisabled();
    await userEvent.click(screen.getByRole("button", { name: "Stop" }));
    expect(onStop).toHaveBeenCalled();
  });

  it("has no Stop button when idle", () => {
    render(<Composer onSend={vi.fn()} onStop={vi.fn()} running={false} />);
    expect(screen.queryByRole("button", { name: "Stop" })).toBeNull();
  });
});
