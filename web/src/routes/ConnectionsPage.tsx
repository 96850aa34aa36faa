// Settings → Connections: the user's own accounts on MCP servers that need one (auth = "user").
// A pasted token is sent once and never shown again (the server keeps it sealed under the
// user's key); OAuth goes to the server's sign-in and comes back here with ?connected=<id>.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { errorMessage } from "../api/errors";
import { connectWithToken, disconnect, listConnections, mcpKeys, startOAuth, type Connection } from "../api/mcp";
import { refetchFresh } from "../api/refetch";
import { ErrorAlert } from "../components/ErrorAlert";
import { StatusBadge } from "../components/StatusBadge";
import { when } from "../format";

/** Leave for the OAuth server's sign-in page (a seam for tests). */
export const navigation = {
  assign(url: string): void {
    window.location.assign(url);
  },
};

export function ConnectionsPage() {
  useEffect(() => {
    document.title = "Connections · Confide";
  }, []);
  const [params] = useSearchParams();
  const returned = params.get("connected");
  const connections = useQuery({ queryKey: mcpKeys.connections, queryFn: listConnections, refetchOnMount: "always" });
  return (
    <div className="page settings">
      <p>
        <Link to="/settings">← Account</Link>
      </p>
      <h1>Connections</h1>
      <p className="muted">
        Some tools act on your own account elsewhere. Connect it here: the agent's calls to that tool server then
        carry your credentials, and only yours. A token you paste is stored encrypted and never shown again.
      </p>
      {returned && (
        <p className="notice-box" role="status" data-testid="connected-notice">
          Connected <strong>{returned}</strong>.
        </p>
      )}
      {connections.isError && (
        <ErrorAlert message={errorMessage(connections.error)} onRetry={() => void connections.refetch()} />
      )}
      {connections.isPending && <p className="muted">Loading…</p>}
      {connections.isSuccess && connections.data.length === 0 && (
        <p className="muted" data-testid="connections-empty">
          None of the agents you can use needs a connection.
        </p>
      )}
      {connections.data?.map((connection) => (
        <ConnectionCard key={connection.server_id} connection={connection} />
      ))}
    </div>
  );
}

function ConnectionCard({ connection }: { connection: Connection }) {
  const ids = useId();
  const queryClient = useQueryClient();
  const [token, setToken] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const id = connection.server_id;
  const refresh = () => void refetchFresh(queryClient, mcpKeys.connections);
  const save = useMutation({
    mutationFn: (value: string) => connectWithToken(id, value),
    onSuccess: () => {
      setToken("");
      setDone("Connected. The token is stored and will not be shown again.");
      refresh();
    },
  });
  const remove = useMutation({
    mutationFn: () => disconnect(id),
    onSuccess: () => {
      setDone("Disconnected.");
      refresh();
    },
  });
  const oauth = useMutation({
    mutationFn: () => startOAuth(id),
    onSuccess: (url) => navigation.assign(url),
  });
  const busy = save.isPending || remove.isPending || oauth.isPending;
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setDone(null);
    if (token.trim()) save.mutate(token.trim());
  };
  const failure = save.error ?? remove.error ?? oauth.error;

  return (
    <section
      className="card"
      aria-labelledby={`${ids}-heading`}
      data-testid="connection"
      data-server={id}
      data-connected={connection.connected}
    >
      <h2 id={`${ids}-heading`}>
        {id}{" "}
        <StatusBadge
          status={connection.connected ? "connected" : "not-connected"}
          label={connection.connected ? "Connected" : "Not connected"}
        />
      </h2>
      <p className="muted small">
        Used by {connection.agents.length === 1 ? "the agent" : "the agents"} {connection.agents.join(", ")}
        {connection.connected && connection.connected_at ? ` · connected ${when(connection.connected_at)}` : ""}
      </p>
      {failure && <ErrorAlert message={errorMessage(failure)} />}
      <p role="status" className="success">
        {done ?? ""}
      </p>
      {connection.oauth && (
        <div className="button-row">
          <button type="button" className="button primary" disabled={busy} onClick={() => oauth.mutate()}>
            {connection.connected ? `Connect ${id} again` : `Connect ${id}`}
          </button>
        </div>
      )}
      <form className="stack" onSubmit={onSubmit} aria-label={`Connect ${id} with a token`}>
        <div className="field">
          <label htmlFor={`${ids}-token`}>
            {connection.connected ? `Replace the token for ${id}` : `Token for ${id}`}
          </label>
          <input
            id={`${ids}-token`}
            type="password"
            value={token}
            autoComplete="off"
            spellCheck={false}
            maxLength={8000}
            onChange={(e) => {
              setDone(null);
              setToken(e.target.value);
            }}
            aria-describedby={`${ids}-hint`}
          />
          <p id={`${ids}-hint`} className="hint">
            An access token from your account on that service, pasted once.
          </p>
        </div>
        <div className="button-row">
          <button type="submit" className="button" disabled={busy || !token.trim()}>
            Save token
          </button>
          {connection.connected && (
            <button type="button" className="button danger" disabled={busy} onClick={() => remove.mutate()}>
              Disconnect
            </button>
          )}
        </div>
      </form>
    </section>
  );
}
