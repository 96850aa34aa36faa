import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";
import { Dialog } from "./Dialog";

function Harness({ onDelete }: { onDelete: () => void }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button onClick={() => setOpen(true)}>Delete thread</button>
      {open && (
        <Dialog
          title="Delete?"
          onClose={() => setOpen(false)}
          actions={
            <>
              <button onClick={onDelete}>Delete</button>
              <button data-autofocus onClick={() => setOpen(false)}>
                Cancel
              </button>
            </>
          }
        />
      )}
    </>
  );
}

describe("Dialog", () => {
  it("is modal, takes focus, traps Tab, closes on Escape and gives focus back", async () => {
    render(<Harness onDelete={vi.fn()} />);
    const opener = screen.getByRole("button", { name: "Delete thread" });
    await userEvent.click(opener);
    const dialog = screen.getByRole("dialog", { name: "Delete?" });
    expect(dialog).toHaveAttribute("aria-modal", "true");
    const cancel = screen.getByRole("button", { name: "Cancel" });
    const del = screen.getByRole("button", { name: "Delete" });
    expect(cancel).toHaveFocus();
    await userEvent.tab();
    expect(del).toHaveFocus();
    await userEvent.tab({ shift: true });
    expect(cancel).toHaveFocus();
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(opener).toHaveFocus();
  });
});
