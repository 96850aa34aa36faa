import type { ToolState } from "../../chat/conversation";

const STATUS_LABEL: Record<ToolState["status"], string> = {
  running: "running",
  ok: "ok",
  error: "error",
  cancelled: "cancelled",
};

export function formatDuration(ms: number | null): string {
  if (ms === null) return "";
  if (ms < 1) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

function pretty(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

/** One tool call: name, status and duration at a glance; arguments and result inside. */
export function ToolCard({ tool }: { tool: ToolState }) {
  const duration = formatDuration(tool.durationMs);
  return (
    <details className="tool-card" data-testid="tool-card" data-status={tool.status}>
      <summary>
        <span className="tool-name">{tool.name}</span>
        <span className={`tool-status status-${tool.status}`}>{STATUS_LABEL[tool.status]}</span>
        {duration && <span className="tool-duration">{duration}</span>}
      </summary>
      <div className="tool-body">
        <p className="tool-label">Arguments</p>
        <pre className="tool-pre">{pretty(tool.arguments) || "{}"}</pre>
        <p className="tool-label">Result</p>
        <pre className="tool-pre">{tool.result ?? (tool.status === "running" ? "…" : "")}</pre>
      </div>
    </details>
  );
}
