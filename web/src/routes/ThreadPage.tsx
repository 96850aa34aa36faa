import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useMemo, useRef, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { ApiError, errorMessage } from "../api/errors";
import { deleteThread, getThread, keys, listAgents, renameThread, takeFirstMessage } from "../api/threads";
import { displayItems, runAnnouncement } from "../chat/conversation";
import { useConversation } from "../chat/useConversation";
import { Composer } from "../components/chat/Composer";
import type { ChatControls } from "../components/chat/MessageActions";
import { MessageList } from "../components/chat/MessageList";
import { Dialog } from "../components/Dialog";
import { ErrorAlert } from "../components/ErrorAlert";
import { ExportMenu } from "../components/ExportMenu";
import { ShareDialog } from "../components/ShareDialog";
import { threadTitle } from "../components/Sidebar";
import { personName } from "../api/shares";
import { can, THREADS_SHARE } from "../auth/access";
import { useMe } from "../auth/useMe";
import { refetchFresh } from "../api/refetch";

export function ThreadPage() {
  const { threadId = "" } = useParams();
  return <Conversation key={threadId} threadId={threadId} />;
}

function Conversation({ threadId }: { threadId: string }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  // Always fresh on arrival: a run may have started (or ended) since it was cached.
  const thread = useQuery({
    queryKey: keys.thread(threadId),
    queryFn: () => getThread(threadId),
    refetchOnMount: "always",
  });
  const { state, messages, send, stop, dismissError, decided, edit, regenerate, continueAnswer, switchBranch } =
    useConversation(threadId, thread.data);
  const items = useMemo(() => displayItems(state), [state]);
  // The caller's own thread: its messages can be edited, regenerated, continued, switched.
  const own = thread.data !== undefined && thread.data.shared !== true;
  const agents = useQuery({ queryKey: keys.agents, queryFn: listAgents, staleTime: 10 * 60_000, enabled: own });
  const switchTo = switchBranch.mutate;
  const controls = useMemo<ChatControls>(
    () =>
      own
        ? {
            busy: state.running || state.waiting || switchBranch.isPending,
            onEdit: edit,
            onRegenerate: regenerate,
            onContinue: continueAnswer,
            onSwitch: (messageId) => switchTo(messageId),
            agents: agents.data,
          }
        : { busy: false },
    [own, state.running, state.waiting, switchBranch.isPending, edit, regenerate, continueAnswer, switchTo, agents.data],
  );
  const [renaming, setRenaming] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [sharing, setSharing] = useState(false);
  const firstSent = useRef(false);
  const me = useMe();
  const info = thread.data;
  // Someone else's thread, shared with this user: read-only, whatever the buttons would send.
  const readOnly = info?.shared === true;

  // The new-chat screen handed its first message over: send it once.
  useEffect(() => {
    if (firstSent.current) return;
    firstSent.current = true;
    const first = takeFirstMessage(threadId);
    if (first) send(first);
  }, [threadId, send]);

  const title = threadTitle(thread.data?.title);
  useEffect(() => {
    document.title = `${title} · Confide`;
  }, [title]);

  const remove = useMutation({
    mutationFn: () => deleteThread(threadId),
    onSuccess: () => {
      void navigate("/", { replace: true });
      void refetchFresh(queryClient, keys.threadLists);
      // After this page has gone, so its queries do not fetch the deleted thread again.
      setTimeout(() => {
        queryClient.removeQueries({ queryKey: keys.thread(threadId) });
        queryClient.removeQueries({ queryKey: keys.messages(threadId) });
      }, 0);
    },
  });

  if (thread.error instanceof ApiError && thread.error.status === 404) {
    return (
      <div className="page">
        <h1>Conversation not found</h1>
        <ErrorAlert message={thread.error.message} />
        <p>
          <Link to="/">Start a new chat</Link>
        </p>
      </div>
    );
  }

  return (
    <div className="page conversation">
      <div className="conversation-header">
        {renaming && thread.data ? (
          <>
            <h1 className="sr-only">{title}</h1>
            <RenameForm
              threadId={threadId}
              initial={thread.data.title ?? ""}
              onDone={() => setRenaming(false)}
            />
          </>
        ) : (
          <>
            <h1 className="thread-title">{thread.isPending ? "Loading…" : title}</h1>
            {thread.data && <ExportMenu threadId={threadId} />}
            {!readOnly && (
              <div className="header-actions">
                {can(me.data, THREADS_SHARE) && (
                  <button
                    type="button"
                    className="button subtle"
                    disabled={!thread.data}
                    onClick={() => setSharing(true)}
                  >
                    Share
                  </button>
                )}
                <button
                  type="button"
                  className="button subtle"
                  disabled={!thread.data}
                  onClick={() => setRenaming(true)}
                >
                  Rename thread
                </button>
                <button
                  type="button"
                  className="button subtle danger-text"
                  onClick={() => setConfirmDelete(true)}
                >
                  Delete thread
                </button>
              </div>
            )}
          </>
        )}
      </div>
      {readOnly && (
        <p className="shared-note" data-testid="shared-note">
          Shared with you by <strong>{personName(info?.owner)}</strong> · read-only
        </p>
      )}
      {thread.isError && !(thread.error instanceof ApiError && thread.error.status === 404) && (
        <ErrorAlert message={errorMessage(thread.error)} onRetry={() => void thread.refetch()} />
      )}
      {messages.isError && (
        <ErrorAlert message={errorMessage(messages.error)} onRetry={() => void messages.refetch()} />
      )}
      <MessageList
        items={items}
        status={runAnnouncement(state)}
        onDecided={decided}
        readOnly={readOnly}
        controls={controls}
      />
      {switchBranch.isError && (
        <ErrorAlert message={errorMessage(switchBranch.error)} onDismiss={() => switchBranch.reset()} />
      )}
      {state.notice && <p className="muted notice">{state.notice}</p>}
      {state.error && (
        <ErrorAlert
          message={state.error.message}
          onRetry={state.error.retryContent ? () => send(state.error?.retryContent ?? "") : undefined}
          onDismiss={dismissError}
        />
      )}
      {thread.data && !readOnly && (
        <Composer onSend={send} onStop={stop} running={state.running || state.waiting} autoFocus files />
      )}
      {sharing && <ShareDialog threadId={threadId} title={title} onClose={() => setSharing(false)} />}
      {confirmDelete && (
        <Dialog
          title="Delete this conversation?"
          onClose={() => setConfirmDelete(false)}
          actions={
            <>
              <button
                type="button"
                className="button danger"
                disabled={remove.isPending}
                onClick={() => remove.mutate()}
              >
                Delete
              </button>
              <button
                type="button"
                className="button"
                data-autofocus
                onClick={() => setConfirmDelete(false)}
              >
                Cancel
              </button>
            </>
          }
        >
          <p>“{title}” and all its messages will be gone for good.</p>
          {remove.isError && <ErrorAlert message={errorMessage(remove.error)} />}
        </Dialog>
      )}
    </div>
  );
}

function RenameForm(props: { threadId: string; initial: string; onDone: () => void }) {
  const queryClient = useQueryClient();
  const [value, setValue] = useState(props.initial);
  const inputId = useId();
  const rename = useMutation({
    mutationFn: (title: string) => renameThread(props.threadId, title),
    onSuccess: (thread) => {
      queryClient.setQueryData(keys.thread(props.threadId), thread);
      void refetchFresh(queryClient, keys.threadLists);
      props.onDone();
    },
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (value.trim()) rename.mutate(value.trim());
  };
  return (
    <form
      className="rename-form"
      onSubmit={onSubmit}
      onKeyDown={(e) => {
        if (e.key === "Escape") {
          e.preventDefault();
          props.onDone();
        }
      }}
    >
      <label htmlFor={inputId} className="sr-only">
        Thread title
      </label>
      <input
        id={inputId}
        value={value}
        maxLength={200}
        autoFocus
        onChange={(e) => setValue(e.target.value)}
      />
      <button type="submit" className="button primary" disabled={rename.isPending || !value.trim()}>
        Save
      </button>
      <button type="button" className="button" onClick={props.onDone}>
        Cancel
      </button>
      {rename.isError && <ErrorAlert message={errorMessage(rename.error)} />}
    </form>
  );
}
