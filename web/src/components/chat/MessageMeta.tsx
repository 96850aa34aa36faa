// What an assistant turn cost: tokens in and out, and the time the model took. Shown when the
// pointer is over the message or focus is inside it (its buttons), kept readable by screen
// readers at all times (hidden only visually).
import type { MessageUsage } from "../../api/client";
import { formatDuration } from "./ToolCard";

export interface TurnUsage {
  inputTokens: number | null;
  outputTokens: number | null;
  modelMs: number | null;
  firstTokenMs: number | null;
  requests: number;
  models: string[];
}

function add(total: number | null, value: number | null | undefined): number | null {
  if (value === null || value === undefined) return total;
  return (total ?? 0) + value;
}

/** The sum of a turn's model requests (a turn that called tools asked the model again). */
export function turnUsage(usage: MessageUsage[]): TurnUsage | null {
  if (usage.length === 0) return null;
  let inputTokens: number | null = null;
  let outputTokens: number | null = null;
  let modelMs: number | null = null;
  const models = new Set<string>();
  for (const u of usage) {
    inputTokens = add(inputTokens, u.input_tokens);
    outputTokens = add(outputTokens, u.output_tokens);
    modelMs = add(modelMs, u.model_ms);
    if (u.model) models.add(u.model);
  }
  return {
    inputTokens,
    outputTokens,
    modelMs,
    firstTokenMs: usage[0]?.first_token_ms ?? null,
    requests: usage.length,
    models: [...models],
  };
}

const count = new Intl.NumberFormat();

/** One line: "12 in · 34 out tokens · 1.2 s". */
export function usageLine(usage: TurnUsage): string {
  const parts: string[] = [];
  if (usage.inputTokens !== null || usage.outputTokens !== null) {
    parts.push(`${count.format(usage.inputTokens ?? 0)} in · ${count.format(usage.outputTokens ?? 0)} out tokens`);
  } else {
    parts.push("tokens not reported");
  }
  if (usage.modelMs !== null) parts.push(formatDuration(usage.modelMs));
  if (usage.requests > 1) parts.push(`${usage.requests} model requests`);
  return parts.join(" · ");
}

export function MessageMeta({ usage }: { usage: MessageUsage[] | undefined }) {
  const total = turnUsage(usage ?? []);
  if (!total) return null;
  const details = [
    total.models.length > 0 ? `Model: ${total.models.join(", ")}` : null,
    total.firstTokenMs !== null ? `First token after ${formatDuration(total.firstTokenMs)}` : null,
  ].filter((line): line is string => line !== null);
  return (
    <p className="message-meta" data-testid="message-meta" title={details.join("\n") || undefined}>
      <span className="sr-only">Usage: </span>
      {usageLine(total)}
      {details.length > 0 && <span className="sr-only">. {details.join(". ")}</span>}
    </p>
  );
}
