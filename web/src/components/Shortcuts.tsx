import { useEffect, useMemo, useState } from "react";
import { useNavigate } from "react-router";
import { isMac, keyLabel, shortcutFor, SHORTCUTS, type ShortcutAction } from "../chat/shortcuts";
import { Dialog } from "./Dialog";

/** A visible element (the sidebar's search is hidden behind "Threads" on small screens). */
function visible(node: HTMLElement | null): node is HTMLElement {
  return node !== null && node.getClientRects().length > 0;
}

/** The signed-in pages' keyboard shortcuts (chat/shortcuts.ts), and their help dialog. */
export function Shortcuts() {
  const navigate = useNavigate();
  const [help, setHelp] = useState(false);
  const mac = useMemo(isMac, []);

  useEffect(() => {
    const run = (action: ShortcutAction) => {
      switch (action) {
        case "new-chat":
          void navigate("/");
          return;
        case "search": {
          const box = document.querySelector<HTMLInputElement>('input[aria-label="Search threads"]');
          if (visible(box)) {
            box.focus();
            box.select();
          } else {
            void navigate("/search");
          }
          return;
        }
        case "focus-composer":
          document.querySelector<HTMLTextAreaElement>(".composer textarea")?.focus();
          return;
        case "help":
          setHelp((open) => !open);
          return;
      }
    };
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.defaultPrevented) return; // a field or dialog took this key for itself
      const action = shortcutFor(event, mac);
      if (!action) return;
      event.preventDefault();
      run(action);
    };
    window.addEventListener("keydown", onKeyDown);
    return () => window.removeEventListener("keydown", onKeyDown);
  }, [navigate, mac]);

  if (!help) return null;
  return (
    <Dialog
      title="Keyboard shortcuts"
      onClose={() => setHelp(false)}
      actions={
        <button type="button" className="button" data-autofocus onClick={() => setHelp(false)}>
          Close
        </button>
      }
    >
      <table className="shortcuts-table">
        <thead>
          <tr>
            <th scope="col">Keys</th>
            <th scope="col">Does</th>
          </tr>
        </thead>
        <tbody>
          {SHORTCUTS.map((shortcut) => (
            <tr key={shortcut.action}>
              <td>
                {shortcut.keys.map((key, i) => (
                  <span key={key}>
                    {i > 0 && " + "}
                    <kbd>{keyLabel(key, mac)}</kbd>
                  </span>
                ))}
              </td>
              <td>{shortcut.description}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Dialog>
  );
}
