import type { ToolState } from "../../chat/conversation";
import { Link } from "react-router";
import { prettyJson } from "../../format";

const STATUS_LABEL: Record<ToolState["status"], string> = {
  running: "running",
  waiting: "waiting",
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

// What an MCP tool answers a user who has not connected their account on its server.
const CONNECT_FIRST = /\bconnect (\S+) first\b/i;

/** The MCP server a tool result asks the user to connect first, if it does. */
export function serverToConnect(result: string | null): string | null {
  return result ? (CONNECT_FIRST.exec(result)?.[1] ?? null) : null;
}

/** One tool call: name, status and duration at a glance; arguments and result inside. */
export function ToolCard({ tool }: { tool: ToolState }) {
  const duration = formatDuration(tool.durationMs);
  const connect = serverToConnect(tool.result);
  return (
    <>
      <details className="tool-card" data-testid="tool-card" data-status={tool.status}>
        <summary>
          <span className="tool-name">{tool.name}</span>
          <span className={`tool-status status-${tool.status}`}>{STATUS_LABEL[tool.status]}</span>
          {duration && <span className="tool-duration">{duration}</span>}
        </summary>
        <div className="tool-body">
          <p className="tool-label">Arguments</p>
          <pre className="tool-pre">{prettyJson(tool.arguments) || "{}"}</pre>
          <p className="tool-label">Result</p>
          <pre className="tool-pre">{tool.result ?? (tool.status === "running" ? "…" : "")}</pre>
        </div>
      </details>
      {connect && (
        <p className="tool-connect" data-testid="connect-hint">
          This tool needs your account on <strong>{connect}</strong>:{" "}
          <Link to="/settings/connections">connect it in Settings → Connections</Link>, then ask again.
        </p>
      )}
    </>
  );
}
