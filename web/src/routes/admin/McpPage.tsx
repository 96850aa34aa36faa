import { useQuery } from "@tanstack/react-query";
import { useEffect } from "react";
import { errorMessage } from "../../api/errors";
import { listMcpServers, mcpKeys, type McpServer } from "../../api/mcp";
import { ErrorAlert } from "../../components/ErrorAlert";
import { StatusBadge } from "../../components/StatusBadge";
import { when } from "../../format";

const STARTING_REFETCH_MS = 2_000;

const STATE_LABEL: Record<McpServer["state"], string> = {
  starting: "Starting",
  ready: "Ready",
  down: "Down",
};

/** /admin/mcp: the agents file's MCP servers as this worker sees them: state, tools, last error. */
export function McpPage() {
  useEffect(() => {
    document.title = "MCP servers · Confide";
  }, []);
  const servers = useQuery({
    queryKey: mcpKeys.servers,
    queryFn: listMcpServers,
    refetchOnMount: "always",
    // A server still starting is looked at again until it is up or down.
    refetchInterval: (query) =>
      (query.state.data ?? []).some((server) => server.state === "starting") ? STARTING_REFETCH_MS : false,
  });
  return (
    <>
      <h1>MCP servers</h1>
      <p className="muted">
        Tool servers declared in the agents file (<code>[[agents.mcp]]</code>). A server that is down only makes
        its own tools unavailable; the model is told so and every other tool goes on working.
      </p>
      <div className="button-row">
        <button
          type="button"
          className="button"
          disabled={servers.isFetching}
          onClick={() => void servers.refetch()}
        >
          Refresh
        </button>
      </div>
      {servers.isError && (
        <ErrorAlert message={errorMessage(servers.error)} onRetry={() => void servers.refetch()} />
      )}
      {servers.isPending && <p className="muted">Loading…</p>}
      {servers.isSuccess && servers.data.length === 0 && (
        <p className="muted" data-testid="mcp-empty">
          No MCP servers are configured.
        </p>
      )}
      {servers.data?.map((server) => <ServerCard key={server.id} server={server} />)}
    </>
  );
}

function ServerCard({ server }: { server: McpServer }) {
  const headingId = `mcp-${server.id}`;
  return (
    <section
      className="card mcp-server"
      aria-labelledby={headingId}
      data-testid="mcp-server"
      data-server={server.id}
      data-state={server.state}
    >
      <h2 id={headingId}>
        {server.id} <StatusBadge status={server.state} label={STATE_LABEL[server.state] ?? server.state} />
      </h2>
      <p className="muted small">
        {server.transport === "stdio" ? "Local process (stdio)" : "Streamable HTTP"}
        {server.auth === "user" ? " · each user connects their own account" : ""}
        {server.agents.length > 0 ? ` · agents: ${server.agents.join(", ")}` : ""}
        {server.updated_at ? ` · checked ${when(server.updated_at)}` : ""}
      </p>
      {server.last_error && (
        <div className="alert" role="note" data-testid="mcp-last-error">
          <p className="alert-message">
            <strong>Last error:</strong> {server.last_error}
          </p>
        </div>
      )}
      <h3 className="small-heading">Tools ({server.tools.length})</h3>
      {server.tools.length === 0 ? (
        <p className="muted">No tools {server.state === "ready" ? "allowed" : "known yet"}.</p>
      ) : (
        <ul className="tool-list" aria-label={`Tools of ${server.id}`}>
          {server.tools.map((tool) => (
            <li key={tool.name} data-testid="mcp-tool">
              <code>{tool.model_name}</code>
              {tool.model_name !== tool.name && <span className="muted small"> ({tool.name})</span>}
              {tool.requires_approval && <span className="badge">needs approval</span>}
              {tool.description && <span className="muted small"> — {tool.description}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
