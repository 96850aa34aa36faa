import { Fragment, useEffect, useMemo, useRef, useState } from "react";
import { useLocation } from "react-router";
import { turnText, type DisplayItem, type Interruption, type TurnPart } from "../../chat/conversation";
import { highlightParam } from "../../chat/highlight";
import type { Approval } from "../../api/approvals";
import { MessageFiles } from "../files/MessageFiles";
import { Highlighted } from "../Highlighted";
import { ApprovalCard } from "./ApprovalCard";
import { Markdown } from "./Markdown";
import { AnswerActions, UserActions, type ChatControls } from "./MessageActions";
import { MessageEditor } from "./MessageEditor";
import { MessageMeta } from "./MessageMeta";
import { ToolCard } from "./ToolCard";

const INTERRUPTION_LABEL: Record<Interruption, string> = {
  stopped: "Stopped",
  failed: "Failed",
  interrupted: "Interrupted",
};

const NO_CONTROLS: ChatControls = { busy: false };

/** The conversation: user messages as written, assistant turns as markdown with tool cards.
 * `status`: what the live region announces (`runAnnouncement`). `controls`: what the
 * messages' buttons do (copy only, without it). */
export function MessageList({
  items,
  status,
  onDecided,
  readOnly = false,
  controls = NO_CONTROLS,
}: {
  items: DisplayItem[];
  status: string;
  /** An approval answered here (the conversation goes on with it). */
  onDecided?: (approval: Approval) => void;
  readOnly?: boolean;
  controls?: ChatControls;
}) {
  const end = useRef<HTMLDivElement>(null);
  const list = useRef<HTMLDivElement>(null);
  const last = items[items.length - 1];
  const lastSize = last?.kind === "assistant" ? last.parts.map(partSize).join(",") : "";
  const location = useLocation();
  const target = targetMessage(location.hash);
  // A search result opened here (`?highlight=<words>`): its words are marked in the message
  // it found (`#message-<id>`), or in every message when it names none (a thread found).
  const words = useMemo(() => highlightParam(location.search), [location.search]);
  const marks = (id: string) => (target === null || target === id ? words : undefined);
  const [editing, setEditing] = useState<string | null>(null);
  // A link to a message (a search result: /chat/<id>#message-<id>) lands on it once (a
  // thread found by its words: on the first message they are in); the list follows its end
  // again when the conversation goes on.
  const shown = useRef<{ id: string; length: number } | null>(null);
  const landing = target ?? (words.length > 0 ? `words:${words.join(" ")}` : null);
  useEffect(() => {
    const found =
      landing !== null &&
      shown.current?.id !== landing &&
      (target ? findMessage(list.current, target) : firstMarked(list.current));
    if (found) {
      shown.current = { id: landing, length: items.length };
      found.classList.add("search-target");
      found.scrollIntoView?.({ block: "center" });
      return;
    }
    if (shown.current && shown.current.length === items.length) return;
    end.current?.scrollIntoView?.({ block: "end" });
  }, [items.length, lastSize, target, landing]);

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
            {editing === item.key && controls.onEdit && !controls.busy ? (
              <MessageEditor
                initial={item.text}
                onCancel={() => setEditing(null)}
                onSave={(content) => {
                  setEditing(null);
                  controls.onEdit?.(item.key, content);
                }}
              />
            ) : (
              <div className="bubble user-text">
                <Highlighted text={item.text} words={marks(item.key) ?? []} />
              </div>
            )}
            {item.message?.files && <MessageFiles files={item.message.files} />}
            {editing !== item.key && (
              <UserActions
                text={item.text}
                branch={item.branch}
                controls={readOnly ? NO_CONTROLS : controls}
                onStartEdit={editable(item) ? () => setEditing(item.key) : null}
              />
            )}
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
                  <Markdown text={part.text} highlight={marks(part.key)} />
                  <p className="interrupted-mark" data-testid="interrupted-mark">
                    {INTERRUPTION_LABEL[part.interrupted]}
                  </p>
                </div>
              ) : (
                <Markdown key={part.key} text={part.text} highlight={marks(part.key)} />
              ),
            )}
            {item.streaming && item.parts.length === 0 && (
              <p className="thinking" role="status">
                Thinking…
              </p>
            )}
            {!item.streaming && (
              <AnswerActions
                text={turnText(item.parts)}
                branch={item.branch}
                regenerate={item.regenerate}
                continueRun={item.continueRun}
                controls={readOnly ? NO_CONTROLS : controls}
              />
            )}
            {!item.streaming && <MessageMeta usage={item.usage} />}
          </article>
        ),
      )}
      <div ref={end} />
    </div>
  );
}

/** A stored user message can be edited (an echo still being sent cannot). */
function editable(item: Extract<DisplayItem, { kind: "user" }>): boolean {
  return item.message !== null && !item.message.id.startsWith("local-");
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

/** The first message with a marked word in it. */
function firstMarked(root: HTMLElement | null): HTMLElement | null {
  return root?.querySelector("mark")?.closest<HTMLElement>("[data-message-ids]") ?? null;
}

function messageIds(parts: TurnPart[]): string {
  return parts.flatMap((part) => (part.kind === "text" ? [part.key] : [])).join(" ");
}

function partSize(part: TurnPart): string {
  if (part.kind === "text") return `${part.text.length}${part.interrupted ?? ""}`;
  if (part.kind === "approval") return part.approval.status;
  return `${part.tool.status}${part.approval?.status ?? ""}`;
}
