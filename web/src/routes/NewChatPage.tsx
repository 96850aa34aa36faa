import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useState } from "react";
import { useNavigate } from "react-router";
import { errorMessage } from "../api/errors";
import { createThread, handOffFirstMessage, keys, listAgents } from "../api/threads";
import { Composer } from "../components/chat/Composer";
import { ErrorAlert } from "../components/ErrorAlert";
import { refetchFresh } from "../api/refetch";

/** Pick an agent, write the first message: the thread is created and the message sent. */
export function NewChatPage() {
  const agents = useQuery({ queryKey: keys.agents, queryFn: listAgents, staleTime: 10 * 60_000 });
  const [agentId, setAgentId] = useState("");
  const [error, setError] = useState<{ message: string; content: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const selectId = useId();

  useEffect(() => {
    document.title = "New chat · Confide";
  }, []);
  useEffect(() => {
    if (!agentId && agents.data) {
      const preferred = agents.data.find((a) => a.default) ?? agents.data[0];
      if (preferred) setAgentId(preferred.id);
    }
  }, [agents.data, agentId]);

  const start = async (content: string) => {
    setBusy(true);
    setError(null);
    try {
      const thread = await createThread(agentId);
      handOffFirstMessage(thread.id, content);
      void refetchFresh(queryClient, keys.threadLists);
      void navigate(`/chat/${thread.id}`);
    } catch (err) {
      setError({ message: errorMessage(err), content });
      setBusy(false);
    }
  };

  const agent = agents.data?.find((a) => a.id === agentId);
  return (
    <div className="page new-chat">
      <h1>New chat</h1>
      {agents.isError && (
        <ErrorAlert message={errorMessage(agents.error)} onRetry={() => void agents.refetch()} />
      )}
      <div className="field">
        <label htmlFor={selectId}>Agent</label>
        <select
          id={selectId}
          value={agentId}
          onChange={(e) => setAgentId(e.target.value)}
          disabled={!agents.data}
          aria-describedby={agent?.description ? `${selectId}-desc` : undefined}
        >
          {agents.data?.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
        </select>
        {agent?.description && (
          <p id={`${selectId}-desc`} className="hint">
            {agent.description}
          </p>
        )}
      </div>
      {error && <ErrorAlert message={error.message} onRetry={() => void start(error.content)} />}
      <div className="spacer" />
      <Composer onSend={(c) => void start(c)} running={busy} disabled={!agentId} autoFocus />
    </div>
  );
}
