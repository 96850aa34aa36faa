import { useEffect, useRef } from "react";
import type { DisplayItem, Interruption, TurnPart } from "../../chat/conversation";
import { Markdown } from "./Markdown";
import { ToolCard } from "./ToolCard";

const INTERRUPTION_LABEL: Record<Interruption, string> = {
  stopped: "Stopped",
  failed: "Failed",
  interrupted: "Interrupted",
};

/** The conversation: user messages as written, assistant turns as markdown with tool cards.
 * `status`: what the live region announces (`runAnnouncement`). */
export function MessageList({ items, status }: { items: DisplayItem[]; status: string }) {
  const end = useRef<HTMLDivElement>(null);
  const last = items[items.length - 1];
  const lastSize = last?.kind === "assistant" ? last.parts.map(partSize).join(",") : "";
  useEffect(() => {
    end.current?.scrollIntoView?.({ block: "end" });
  }, [items.length, lastSize]);

  return (
    <div className="messages">
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
            aria-label="Assistant"
          >
            {item.parts.map((part) =>
              part.kind === "tool" ? (
                <ToolCard key={part.key} tool={part.tool} />
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

function partSize(part: TurnPart): string {
  return part.kind === "text" ? `${part.text.length}${part.interrupted ?? ""}` : part.tool.status;
}
