// One conversation's live state: loads its messages, sends (streamed), follows a run that is
// already going (after a reload), reconnects a dropped stream, stops a run; a run that waits
// for its user's approval is followed again once every approval it asked for is answered
// (here, or on another channel: the thread's approvals are read again while one waits).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useReducer, useRef } from "react";
import { approvalKeys, listThreadApprovals, type Approval } from "../api/approvals";
import type { RunEvent, Thread } from "../api/client";
import { ApiError, errorMessage, isAbort } from "../api/errors";
import { cancelRun, continueRun, editMessage, followRun, isTerminal, regenerateRun, sendMessage } from "../api/runs";
import { keys, listMessages, setActivePath } from "../api/threads";
import { conversationReducer, initialConversation, waitingRuns } from "./conversation";
import { titleFromMessage } from "./title";
import { refetchFresh } from "../api/refetch";

const RECONNECTS = 3;
/** While an approval waits: how often its answer on another channel is looked for. */
const APPROVALS_REFETCH_MS = 10_000;

export function useConversation(threadId: string, thread: Thread | undefined) {
  const [state, dispatch] = useReducer(conversationReducer, initialConversation);
  const queryClient = useQueryClient();
  const controller = useRef<AbortController | null>(null);
  const stopRequested = useRef(false);
  const runIdRef = useRef<string | null>(null);
  /** Streams being read (a new one starts before an aborted one has finished). */
  const streaming = useRef(0);
  const stateRef = useRef(state);
  stateRef.current = state;
  /** Runs seen waiting on this page: followed again once their approvals are answered. */
  const paused = useRef(new Set<string>());

  const messages = useQuery({
    queryKey: keys.messages(threadId),
    queryFn: () => listMessages(threadId),
    refetchOnMount: "always",
  });

  // Each read replaces the path shown, even one equal to the last (an edit that failed
  // before its run started cut the path: the same page puts it back).
  useEffect(() => {
    if (messages.data) dispatch({ type: "loaded", messages: messages.data });
  }, [messages.data, messages.dataUpdatedAt]);

  const approvals = useQuery({
    queryKey: approvalKeys.thread(threadId),
    queryFn: () => listThreadApprovals(threadId),
    refetchOnMount: "always",
    refetchInterval: (query) =>
      (query.state.data ?? []).some((a) => a.status === "pending") ? APPROVALS_REFETCH_MS : false,
    // Someone else's thread (shared to read): its approvals are its owner's.
    enabled: thread !== undefined && !thread.shared,
  });

  useEffect(() => {
    if (approvals.data) dispatch({ type: "approvals", approvals: approvals.data });
  }, [approvals.data]);

  useEffect(() => () => controller.current?.abort(), []);

  const refreshAfterRun = useCallback(() => {
    void refetchFresh(queryClient, keys.messages(threadId));
    void refetchFresh(queryClient, keys.thread(threadId));
    void refetchFresh(queryClient, keys.threadLists);
    void refetchFresh(queryClient, approvalKeys.all);
  }, [queryClient, threadId]);

  /** The run has stored the user's message: the thread's title (if it had none) and its
   * place in the lists changed. Shown at once, then read back. */
  const refreshAfterStart = useCallback(
    async (content: string | null) => {
      void refetchFresh(queryClient, keys.threadLists);
      const key = keys.thread(threadId);
      await queryClient.cancelQueries({ queryKey: key });
      if (content !== null) {
        queryClient.setQueryData<Thread>(key, (thread) =>
          thread && thread.title === null ? { ...thread, title: titleFromMessage(content) } : thread,
        );
      }
      await queryClient.invalidateQueries({ queryKey: key });
    },
    [queryClient, threadId],
  );

  /** Read a run's events, reconnecting (from the last event id) if the stream drops.
   * `sent`: the user's message when this stream is the answer to sending it. */
  const consume = useCallback(
    async (first: AsyncGenerator<RunEvent>, signal: AbortSignal, sent: string | null, after = 0) => {
      let stream = first;
      let lastId = after;
      let runId: string | null = runIdRef.current;
      let finished = false;
      for (let attempt = 0; ; attempt++) {
        try {
          for await (const event of stream) {
            if (runId === null || event.run_id !== runId) {
              runId = event.run_id;
              runIdRef.current = runId;
              lastId = 0;
              if (stopRequested.current) void cancelRun(runId).catch(() => undefined);
              void refreshAfterStart(sent);
            }
            lastId = Math.max(lastId, event.id);
            dispatch({ type: "event", event });
            if (event.type === "run.waiting") paused.current.add(event.run_id);
            if (isTerminal(event) || event.type === "run.waiting") {
              finished = true;
              break; // the run is over; no need to wait for the server to close the stream
            }
          }
        } catch (error) {
          if (isAbort(error) || signal.aborted) return;
          const retriable = error instanceof ApiError && error.code === "network_error";
          if (!retriable || runId === null || attempt >= RECONNECTS) {
            dispatch({
              type: "failed",
              error: { message: errorMessage(error), code: codeOf(error), retryContent: sent },
            });
            refreshAfterRun();
            return;
          }
        }
        if (finished || signal.aborted) break;
        if (runId === null || attempt >= RECONNECTS) {
          dispatch({
            type: "failed",
            error: { message: "The connection to the server was lost.", code: "stream_ended", retryContent: null },
          });
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 500 * (attempt + 1)));
        stream = followRun(runId, lastId, signal);
      }
      refreshAfterRun();
    },
    [refreshAfterRun, refreshAfterStart],
  );

  const streamed = useCallback(async (reading: Promise<void>) => {
    streaming.current += 1;
    try {
      await reading;
    } finally {
      streaming.current -= 1;
    }
  }, []);

  /** Stop listening to any earlier stream; the signal of the new one. */
  const restart = useCallback((runId: string | null): AbortSignal => {
    controller.current?.abort();
    const ac = new AbortController();
    controller.current = ac;
    stopRequested.current = false;
    runIdRef.current = runId;
    return ac.signal;
  }, []);

  const send = useCallback(
    (content: string, fileIds: string[] = []) => {
      const signal = restart(null);
      dispatch({ type: "send", content });
      void streamed(consume(sendMessage(threadId, content, signal, fileIds), signal, content));
    },
    [consume, restart, streamed, threadId],
  );

  /** A new version of a user message: a branch beside it, answered like a send. */
  const edit = useCallback(
    (messageId: string, content: string) => {
      const signal = restart(null);
      dispatch({ type: "edit", messageId, content });
      void streamed(consume(editMessage(threadId, messageId, content, signal), signal, null));
    },
    [consume, restart, streamed, threadId],
  );

  /** A new answer to the user message run `runId` answered (`agentId`: another agent). */
  const regenerate = useCallback(
    (runId: string, agentId: string | null = null) => {
      const first = stateRef.current.messages.find((m) => m.run_id === runId && m.role !== "user");
      const signal = restart(null);
      dispatch({ type: "regenerate", messageId: first?.parent_id ?? null });
      void streamed(consume(regenerateRun(runId, agentId, signal), signal, null));
    },
    [consume, restart, streamed],
  );

  /** The model goes on from a cut-short answer. */
  const continueAnswer = useCallback(
    (runId: string, messageId: string) => {
      const signal = restart(null);
      dispatch({ type: "continue", messageId });
      void streamed(consume(continueRun(runId, signal), signal, null));
    },
    [consume, restart, streamed],
  );

  /** Show another version (and the path below it): the thread's active path moves there. */
  const switchBranch = useMutation({
    mutationFn: (leafId: string) => setActivePath(threadId, leafId),
    onSuccess: async (thread) => {
      queryClient.setQueryData(keys.thread(threadId), thread);
      await refetchFresh(queryClient, keys.messages(threadId));
    },
  });

  /** Follow a run: from its first event, or after the last one this page heard of it. */
  const follow = useCallback(
    (runId: string) => {
      const after = stateRef.current.runId === runId ? stateRef.current.lastEventId : 0;
      const signal = restart(runId);
      dispatch({ type: "follow", runId, resume: true });
      void streamed(consume(followRun(runId, after, signal), signal, null, after));
    },
    [consume, restart, streamed],
  );

  // A waiting run whose approvals are all answered goes on: hear the rest of its events.
  const pendingRuns = waitingRuns(state);
  const pendingKey = [...pendingRuns].sort().join(" ");
  useEffect(() => {
    for (const runId of pendingRuns) paused.current.add(runId);
    for (const runId of [...paused.current]) {
      if (pendingRuns.has(runId) || streaming.current > 0) continue;
      paused.current.delete(runId);
      follow(runId);
    }
    // pendingKey stands for pendingRuns (a new Set each render).
  }, [pendingKey, state.running, state.waiting, follow]);

  /** An approval answered on this page: shown at once (the effect above resumes the run). */
  const decided = useCallback(
    (approval: Approval) => {
      dispatch({ type: "approvals", approvals: [approval] });
      queryClient.setQueryData<Approval[]>(approvalKeys.thread(threadId), (list) =>
        list?.some((a) => a.id === approval.id)
          ? list.map((a) => (a.id === approval.id ? approval : a))
          : [...(list ?? []), approval],
      );
    },
    [queryClient, threadId],
  );

  // Resume after a reload: the thread says a run is going; follow it from its first event
  // (deltas of messages already loaded are skipped, completed messages dedupe by id).
  const activeRunId = thread?.active_run_id ?? null;
  const loaded = messages.data !== undefined;
  useEffect(() => {
    if (!activeRunId || !loaded) return;
    if (runIdRef.current === activeRunId || controller.current) return;
    follow(activeRunId);
  }, [activeRunId, loaded, follow]);

  const stop = useCallback(() => {
    stopRequested.current = true;
    const runId = runIdRef.current;
    if (runId) {
      // A waiting run has no stream open: follow it to hear that it was cancelled.
      const idle = streaming.current === 0;
      cancelRun(runId)
        .then(() => {
          if (idle) follow(runId);
        })
        .catch((error: unknown) => {
          dispatch({
            type: "failed",
            error: { message: errorMessage(error), code: codeOf(error), retryContent: null },
          });
        });
    }
  }, [follow]);

  const dismissError = useCallback(() => dispatch({ type: "dismissError" }), []);

  return { state, messages, send, stop, dismissError, decided, edit, regenerate, continueAnswer, switchBranch };
}

function codeOf(error: unknown): string {
  return error instanceof ApiError ? error.code : "error";
}
