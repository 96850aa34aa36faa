import { Fragment, useEffect, useRef } from "react";
import { useLocation } from "react-router";
import type { DisplayItem, Interruption, TurnPart } from "../../chat/conversation";
import type { Approval } from "../../api/approvals";
import { ApprovalCard } from "./ApprovalCard";
import { Markdown } from "./Markdown";
import { ToolCard } from "./ToolCard";

const INTERRUPTION_LABEL: Record<Interruption, string> = {
  stopped: "Stopped",
  failed: "Failed",
  interrupted: "Interrupted",
};

/** The conversation: user messages as written, assistant turns as markdown with tool cards.
 * `status`: what the live region announces (`runAnnouncement`). */
export function MessageList({
  items,
  status,
  onDecided,
  readOnly = false,
}: {
  items: DisplayItem[];
  status: string;
  /** An approval answered here (the conversation goes on with it). */
  onDecided?: (approval: Approval) => void;
  readOnly?: boolean;
}) {
  const end = useRef<HTMLDivElement>(null);
  const list = useRef<HTMLDivElement>(null);
  const last = items[items.length - 1];
  const lastSize = last?.kind === "assistant" ? last.parts.map(partSize).join(",") : "";
  const target = targetMessage(useLocation().hash);
  // A link to a message (a search result: /chat/<id>#message-<id>) lands on it once; the
  // list follows its end again when the conversation goes on.
  const shown = useRef<{ id: string; length: number } | null>(null);
  useEffect(() => {
    const found = target && shown.current?.id !== target && findMessage(list.current, target);
    if (found) {
      shown.current = { id: target, length: items.length };
      found.classList.add("search-target");
      found.scrollIntoView?.({ block: "center" });
      return;
    }
    if (shown.current && shown.current.length === items.length) return;
    end.current?.scrollIntoView?.({ block: "end" });
  }, [items.length, lastSize, target]);

  return (
    <div className="messages" ref={list}>
      {/* Announced once per change, not per token: streaming text would flood a screen reader. */}
      <p className="sr-only" role="status" data-testid="run-status">
        {status}
      </p>
      {items.map((item) =>
        item.kind === "user" ? (
          <article
            key={item.key}
            className="message user"
            data-testid="message"
            data-role="user"
            data-message-ids={item.key}
            aria-label="You"
          >
            <div className="bubble user-text">{item.text}</div>
          </article>
        ) : (
          <article
            key={item.key}
            className="message assistant"
            data-testid="message"
            data-role="assistant"
            data-message-ids={messageIds(item.parts)}
            aria-label="Assistant"
          >
            {item.parts.map((part) =>
              part.kind === "approval" ? (
                <ApprovalCard key={part.key} approval={part.approval} onDecided={onDecided} readOnly={readOnly} />
              ) : part.kind === "tool" ? (
                part.approval?.status === "pending" ? (
                  <ApprovalCard key={part.key} approval={part.approval} onDecided={onDecided} readOnly={readOnly} />
                ) : (
                  <Fragment key={part.key}>
                    <ToolCard tool={part.tool} />
                    {part.approval && <ApprovalCard approval={part.approval} />}
                  </Fragment>
                )
              ) : part.interrupted ? (
                // Cut short: the text as far as it came, and why it ends there.
                <div key={part.key} className="interrupted-text" data-interrupted={part.interrupted}>
                  <Markdown text={part.text} />
                  <p className="interrupted-mark" data-testid="interrupted-mark">
                    {INTERRUPTION_LABEL[part.interrupted]}
                  </p>
                </div>
              ) : (
                <Markdown key={part.key} text={part.text} />
              ),
            )}
            {item.streaming && item.parts.length === 0 && (
              <p className="thinking" role="status">
                Thinking…
              </p>
            )}
          </article>
        ),
      )}
      <div ref={end} />
    </div>
  );
}

function targetMessage(hash: string): string | null {
  return hash.startsWith("#message-") ? decodeURIComponent(hash.slice("#message-".length)) : null;
}

/** The article showing a message (an assistant turn shows several: their text parts). */
function findMessage(root: HTMLElement | null, id: string): HTMLElement | null {
  if (!root) return null;
  for (const node of root.querySelectorAll<HTMLElement>("[data-message-ids]")) {
    if ((node.dataset.messageIds ?? "").split(" ").includes(id)) return node;
  }
  return null;
}

function messageIds(parts: TurnPart[]): string {
  return parts.flatMap((part) => (part.kind === "text" ? [part.key] : [])).join(" ");
}

function partSize(part: TurnPart): string {
  if (part.kind === "text") return `${part.text.length}${part.interrupted ?? ""}`;
  if (part.kind === "approval") return part.approval.status;
  return `${part.tool.status}${part.approval?.status ?? ""}`;
}
