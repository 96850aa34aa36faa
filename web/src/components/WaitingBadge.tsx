// The top bar's count of approvals and questions waiting on the user (nothing when none), and
// a menu of the conversations they wait in.
import { useQueries, useQuery } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState } from "react";
import { Link, useLocation } from "react-router";
import { approvalKeys, listPendingApprovals, PENDING_REFETCH_MS, type Approval } from "../api/approvals";
import { getThread, keys } from "../api/threads";
import { threadTitle } from "./Sidebar";

/** Menu entries: one per thread, at most this many (the count says how many there are). */
const MENU_THREADS = 10;

interface WaitingThread {
  threadId: string;
  approvals: Approval[];
}

/** The pending approvals by thread, the thread waiting longest first. */
export function waitingThreads(approvals: Approval[]): WaitingThread[] {
  const byThread = new Map<string, Approval[]>();
  const ordered = [...approvals].sort((a, b) => a.created_at.localeCompare(b.created_at));
  for (const approval of ordered) {
    const list = byThread.get(approval.thread_id) ?? [];
    list.push(approval);
    byThread.set(approval.thread_id, list);
  }
  return [...byThread].map(([threadId, list]) => ({ threadId, approvals: list }));
}

function what(approvals: Approval[]): string {
  const questions = approvals.filter((a) => a.kind === "question").length;
  const tools = [...new Set(approvals.filter((a) => a.kind === "approval").map((a) => a.tool))];
  const parts = [
    ...(tools.length ? [`approve ${tools.join(", ")}`] : []),
    ...(questions ? [questions === 1 ? "a question" : `${questions} questions`] : []),
  ];
  return parts.join(" · ");
}

export function WaitingBadge() {
  const [open, setOpen] = useState(false);
  const menuId = useId();
  const root = useRef<HTMLDivElement>(null);
  const location = useLocation();
  const pending = useQuery({
    queryKey: approvalKeys.pending,
    queryFn: listPendingApprovals,
    refetchInterval: PENDING_REFETCH_MS,
  });
  const threads = waitingThreads(pending.data ?? []).slice(0, MENU_THREADS);
  const details = useQueries({
    queries: threads.map((t) => ({
      queryKey: keys.thread(t.threadId),
      queryFn: () => getThread(t.threadId),
      enabled: open,
    })),
  });

  useEffect(() => setOpen(false), [location.pathname]);
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        setOpen(false);
        root.current?.querySelector("button")?.focus();
      }
    };
    const onClick = (e: MouseEvent) => {
      if (root.current && !root.current.contains(e.target as Node)) setOpen(false);
    };
    window.addEventListener("keydown", onKey);
    document.addEventListener("mousedown", onClick);
    return () => {
      window.removeEventListener("keydown", onKey);
      document.removeEventListener("mousedown", onClick);
    };
  }, [open]);

  const count = pending.data?.length ?? 0;
  if (count === 0) return null;
  return (
    <div className="waiting-menu" ref={root}>
      <button
        type="button"
        className="button subtle"
        aria-expanded={open}
        aria-controls={menuId}
        data-testid="waiting-badge"
        onClick={() => setOpen((v) => !v)}
      >
        Waiting{" "}
        <span className="waiting-count" data-testid="waiting-count">
          {count}
        </span>
        <span className="sr-only">{count === 1 ? " request for you" : " requests for you"}</span>
      </button>
      {open && (
        <ul id={menuId} className="waiting-list" aria-label="Conversations waiting for you">
          {threads.map((t, i) => (
            <li key={t.threadId}>
              <Link to={`/chat/${encodeURIComponent(t.threadId)}`} onClick={() => setOpen(false)}>
                <strong>{details[i]?.data ? threadTitle(details[i].data.title) : "A conversation"}</strong>
                <span className="muted small"> — {what(t.approvals)}</span>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
