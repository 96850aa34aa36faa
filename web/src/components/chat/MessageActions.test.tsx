import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { Agent } from "../../api/client";
import { BranchSwitcher } from "./BranchSwitcher";
import { AnswerActions, UserActions } from "./MessageActions";
import { MessageEditor } from "./MessageEditor";

const branch = { index: 1, count: 3, ids: ["a", "b", "c"] };

describe("the version switcher", () => {
  it("shows 2/3 and asks for the version before or after", async () => {
    const onSwitch = vi.fn();
    render(<BranchSwitcher branch={branch} onSwitch={onSwitch} />);
    expect(screen.getByTestId("branch-position")).toHaveTextContent("2/3");
    await userEvent.click(screen.getByRole("button", { name: "Previous version" }));
    await userEvent.click(screen.getByRole("button", { name: "Next version" }));
    expect(onSwitch.mock.calls).toEqual([["a"], ["c"]]);
  });

  it("has no version before the first nor after the last, and none while a run goes", () => {
    const { rerender } = render(<BranchSwitcher branch={{ ...branch, index: 0 }} onSwitch={() => undefined} />);
    expect(screen.getByRole("button", { name: "Previous version" })).toBeDisabled();
    expect(screen.getByRole("button", { name: "Next version" })).toBeEnabled();
    rerender(<BranchSwitcher branch={{ ...branch, index: 2 }} onSwitch={() => undefined} />);
    expect(screen.getByRole("button", { name: "Next version" })).toBeDisabled();
    rerender(<BranchSwitcher branch={branch} onSwitch={() => undefined} disabled />);
    expect(screen.getByRole("button", { name: "Previous version" })).toBeDisabled();
    expect(screen.getByRole("button", { name: "Next version" })).toBeDisabled();
  });
});

describe("the message editor", () => {
  it("saves with Enter (trimmed), keeps Shift+Enter as a new line", async () => {
    const onSave = vi.fn();
    render(<MessageEditor initial="old" onSave={onSave} onCancel={() => undefined} />);
    const box = screen.getByRole("textbox", { name: "Edit your message" });
    expect(box).toHaveFocus();
    await userEvent.type(box, " and{Shift>}{Enter}{/Shift}new {Enter}");
    expect(onSave).toHaveBeenCalledWith("old and\nnew");
  });

  it("cancels with Esc or Cancel, and saves nothing empty", async () => {
    const onSave = vi.fn();
    const onCancel = vi.fn();
    render(<MessageEditor initial="old" onSave={onSave} onCancel={onCancel} />);
    const box = screen.getByRole("textbox", { name: "Edit your message" });
    await userEvent.clear(box);
    await userEvent.type(box, "   {Enter}");
    expect(screen.getByRole("button", { name: "Save" })).toBeDisabled();
    await userEvent.keyboard("{Escape}");
    await userEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(onCancel).toHaveBeenCalledTimes(2);
    expect(onSave).not.toHaveBeenCalled();
  });
});

describe("a message's buttons", () => {
  const agents = [
    { id: "assistant", name: "Assistant" },
    { id: "coder", name: "Coder" },
  ] as Agent[];

  it("a user message: copy, edit (not while a run goes), its versions", async () => {
    const onStartEdit = vi.fn();
    const { rerender } = render(
      <UserActions text="hi" branch={branch} controls={{ busy: false, onEdit: () => undefined }} onStartEdit={onStartEdit} />,
    );
    expect(screen.getByRole("button", { name: "Copy message" })).toBeInTheDocument();
    expect(screen.getByTestId("branch-position")).toHaveTextContent("2/3");
    await userEvent.click(screen.getByRole("button", { name: "Edit message" }));
    expect(onStartEdit).toHaveBeenCalledOnce();
    rerender(<UserActions text="hi" branch={null} controls={{ busy: true, onEdit: () => undefined }} onStartEdit={onStartEdit} />);
    expect(screen.getByRole("button", { name: "Edit message" })).toBeDisabled();
    // Read-only (no handlers): copy only.
    rerender(<UserActions text="hi" branch={null} controls={{ busy: false }} onStartEdit={onStartEdit} />);
    expect(screen.queryByRole("button", { name: "Edit message" })).toBeNull();
    expect(screen.getByRole("button", { name: "Copy message" })).toBeInTheDocument();
  });

  it("an answer: regenerate, with another agent from the menu, and continue", async () => {
    const onRegenerate = vi.fn();
    const onContinue = vi.fn();
    render(
      <AnswerActions
        text="answer"
        branch={null}
        regenerate="r1"
        continueRun={{ runId: "r1", messageId: "m2" }}
        controls={{ busy: false, onRegenerate, onContinue, agents }}
      />,
    );
    await userEvent.click(screen.getByRole("button", { name: "Regenerate" }));
    await userEvent.click(screen.getByRole("button", { name: "Regenerate with…" }));
    expect(screen.getByRole("list", { name: "Agents" })).toBeInTheDocument();
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("list", { name: "Agents" })).toBeNull();
    expect(screen.getByRole("button", { name: "Regenerate with…" })).toHaveFocus();
    await userEvent.click(screen.getByRole("button", { name: "Regenerate with…" }));
    await userEvent.click(screen.getByRole("button", { name: "Coder" }));
    await userEvent.click(screen.getByRole("button", { name: "Continue" }));
    expect(onRegenerate.mock.calls).toEqual([["r1", null], ["r1", "coder"]]);
    expect(onContinue).toHaveBeenCalledWith("r1", "m2");
    expect(screen.queryByRole("list", { name: "Agents" })).toBeNull();
  });

  it("shows no agent menu with one agent, and nothing to start while a run goes", () => {
    render(
      <AnswerActions
        text="answer"
        branch={null}
        regenerate="r1"
        continueRun={null}
        controls={{ busy: true, onRegenerate: () => undefined, onContinue: () => undefined, agents: agents.slice(0, 1) }}
      />,
    );
    expect(screen.getByRole("button", { name: "Regenerate" })).toBeDisabled();
    expect(screen.queryByRole("button", { name: "Regenerate with…" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Continue" })).toBeNull();
  });
});
