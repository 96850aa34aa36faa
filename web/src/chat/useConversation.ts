// One conversation's live state: loads its messages, sends (streamed), follows a run that is
// already going (after a reload), reconnects a dropped stream, stops a run.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useReducer, useRef } from "react";
import type { RunEvent, Thread } from "../api/client";
import { ApiError, errorMessage, isAbort } from "../api/errors";
import { cancelRun, followRun, isTerminal, sendMessage } from "../api/runs";
import { keys, listMessages } from "../api/threads";
import { conversationReducer, initialConversation } from "./conversation";
import { titleFromMessage } from "./title";
import { refetchFresh } from "../api/refetch";

const RECONNECTS = 3;

export function useConversation(threadId: string, thread: Thread | undefined) {
  const [state, dispatch] = useReducer(conversationReducer, initialConversation);
  const queryClient = useQueryClient();
  const controller = useRef<AbortController | null>(null);
  const stopRequested = useRef(false);
  const runIdRef = useRef<string | null>(null);

  const messages = useQuery({
    queryKey: keys.messages(threadId),
    queryFn: () => listMessages(threadId),
    refetchOnMount: "always",
  });

  useEffect(() => {
    if (messages.data) dispatch({ type: "loaded", messages: messages.data });
  }, [messages.data]);

  useEffect(() => () => controller.current?.abort(), []);

  const refreshAfterRun = useCallback(() => {
    void refetchFresh(queryClient, keys.messages(threadId));
    void refetchFresh(queryClient, keys.thread(threadId));
    void refetchFresh(queryClient, keys.threadLists);
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
    async (first: AsyncGenerator<RunEvent>, signal: AbortSignal, sent: string | null) => {
      let stream = first;
      let lastId = 0;
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
            if (isTerminal(event)) {
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
    (content: string) => {
      const signal = restart(null);
      dispatch({ type: "send", content });
      void consume(sendMessage(threadId, content, signal), signal, content);
    },
    [consume, restart, threadId],
  );

  const follow = useCallback(
    (runId: string) => {
      const signal = restart(runId);
      dispatch({ type: "follow", runId, resume: true });
      void consume(followRun(runId, 0, signal), signal, null);
    },
    [consume, restart],
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
      cancelRun(runId).catch((error: unknown) => {
        dispatch({
          type: "failed",
          error: { message: errorMessage(error), code: codeOf(error), retryContent: null },
        });
      });
    }
  }, []);

  const dismissError = useCallback(() => dispatch({ type: "dismissError" }), []);

  return { state, messages, send, stop, dismissError };
}

function codeOf(error: unknown): string {
  return error instanceof ApiError ? error.code : "error";
}
