import { useEffect, useId, useRef, useState } from "react";
import type { Agent } from "../../api/client";
import type { Branch } from "../../chat/conversation";
import { CopyButton } from "../CopyButton";
import { BranchSwitcher } from "./BranchSwitcher";

/** What the conversation lets its messages do; a missing handler hides its button (a
 * read-only thread has none but copy). */
export interface ChatControls {
  /** A run is going: nothing new can start until it ends. */
  busy: boolean;
  onEdit?: ((messageId: string, content: string) => void) | undefined;
  onRegenerate?: ((runId: string, agentId: string | null) => void) | undefined;
  onContinue?: ((runId: string, messageId: string) => void) | undefined;
  /** Show another version of a message (its id). */
  onSwitch?: ((messageId: string) => void) | undefined;
  /** The agents a regenerate may ask instead (the menu shows when there is more than one). */
  agents?: Agent[] | undefined;
}

export function UserActions({
  text,
  branch,
  controls,
  onStartEdit,
}: {
  text: string;
  branch: Branch | null;
  controls: ChatControls;
  /** Null: this message cannot be edited (yet): it is still being sent. */
  onStartEdit: (() => void) | null;
}) {
  return (
    <div className="message-actions" data-testid="message-actions">
      {branch && <BranchSwitcher branch={branch} onSwitch={controls.onSwitch} disabled={controls.busy} />}
      <CopyButton text={text} label="Copy" ariaLabel="Copy message" className="button subtle small" failedText="Copy failed" />
      {controls.onEdit && onStartEdit && (
        <button
          type="button"
          className="button subtle small"
          aria-label="Edit message"
          title="Edit message"
          disabled={controls.busy}
          onClick={onStartEdit}
        >
          ✎ Edit
        </button>
      )}
    </div>
  );
}

export function AnswerActions({
  text,
  branch,
  regenerate,
  continueRun,
  controls,
}: {
  text: string;
  branch: Branch | null;
  regenerate: string | null;
  continueRun: { runId: string; messageId: string } | null;
  controls: ChatControls;
}) {
  const { onRegenerate, onContinue } = controls;
  return (
    <div className="message-actions" data-testid="message-actions">
      {branch && <BranchSwitcher branch={branch} onSwitch={controls.onSwitch} disabled={controls.busy} />}
      {text && (
        <CopyButton text={text} label="Copy" ariaLabel="Copy message" className="button subtle small" failedText="Copy failed" />
      )}
      {continueRun && onContinue && (
        <button
          type="button"
          className="button subtle small"
          disabled={controls.busy}
          onClick={() => onContinue(continueRun.runId, continueRun.messageId)}
        >
          Continue
        </button>
      )}
      {regenerate && onRegenerate && (
        <>
          <button
            type="button"
            className="button subtle small"
            disabled={controls.busy}
            onClick={() => onRegenerate(regenerate, null)}
          >
            Regenerate
          </button>
          {(controls.agents?.length ?? 0) > 1 && (
            <AgentMenu
              agents={controls.agents ?? []}
              disabled={controls.busy}
              onPick={(agentId) => onRegenerate(regenerate, agentId)}
            />
          )}
        </>
      )}
    </div>
  );
}

/** "Regenerate with…": the agents to ask for the new answer. Esc or a click elsewhere closes. */
function AgentMenu({
  agents,
  disabled,
  onPick,
}: {
  agents: Agent[];
  disabled: boolean;
  onPick: (agentId: string) => void;
}) {
  const [open, setOpen] = useState(false);
  const menuId = useId();
  const root = useRef<HTMLSpanElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!open) return;
    const away = (event: MouseEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", away);
    return () => document.removeEventListener("mousedown", away);
  }, [open]);
  return (
    <span
      className="agent-menu"
      ref={root}
      onKeyDown={(event) => {
        if (event.key === "Escape" && open) {
          event.stopPropagation();
          setOpen(false);
          toggle.current?.focus();
        }
      }}
    >
      <button
        ref={toggle}
        type="button"
        className="button subtle small"
        aria-haspopup="true"
        aria-expanded={open}
        aria-controls={menuId}
        disabled={disabled}
        onClick={() => setOpen((v) => !v)}
      >
        Regenerate with…
      </button>
      {open && (
        <ul id={menuId} className="agent-menu-list" aria-label="Agents">
          {agents.map((agent) => (
            <li key={agent.id}>
              <button
                type="button"
                className="button subtle wide"
                autoFocus={agent === agents[0]}
                onClick={() => {
                  setOpen(false);
                  onPick(agent.id);
                }}
              >
                {agent.name}
              </button>
            </li>
          ))}
        </ul>
      )}
    </span>
  );
}
