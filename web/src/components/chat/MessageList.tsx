import { useEffect, useRef } from "react";
import type { DisplayItem, TurnPart } from "../../chat/conversation";
import { Markdown } from "./Markdown";
import { ToolCard } from "./ToolCard";

/** The conversation: user messages as written, assistant turns as markdown with tool cards. */
export function MessageList({ items, running }: { items: DisplayItem[]; running: boolean }) {
  const end = useRef<HTMLDivElement>(null);
  const last = items[items.length - 1];
  const lastSize = last?.kind === "assistant" ? last.parts.map(partSize).join(",") : "";
  useEffect(() => {
    end.current?.scrollIntoView?.({ block: "end" });
  }, [items.length, lastSize]);

  return (
    <div className="messages">
      {/* Announced once per change, not per token: streaming text would flood a screen reader. */}
      <p className="sr-only" role="status">
        {running ? "The assistant is answering." : items.length > 0 ? "The answer is complete." : ""}
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
              part.kind === "text" ? (
                <Markdown key={part.key} text={part.text} />
              ) : (
                <ToolCard key={part.key} tool={part.tool} />
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
  return part.kind === "text" ? String(part.text.length) : part.tool.status;
}
