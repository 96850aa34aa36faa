import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { errorMessage } from "../api/errors";
import { listShares, personName, shareKeys, shareThread, unshareThread, type Share } from "../api/shares";
import { Dialog } from "./Dialog";
import { ErrorAlert } from "./ErrorAlert";
import { LinkSection } from "./LinkSection";
import { refetchFresh } from "../api/refetch";

// The server answers the same whether an account has that email or not (no way to find out
// who has an account by sharing with them), so the confirmation cannot say more than this.
export const SHARED_MESSAGE = "If an account exists for that email, it can now read this thread.";

/** Share a thread read-only by email; the current shares, each with Remove. Owner only. */
export function ShareDialog({ threadId, title, onClose }: { threadId: string; title: string; onClose: () => void }) {
  const queryClient = useQueryClient();
  const inputId = useId();
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState("");
  const shares = useQuery({ queryKey: shareKeys.shares(threadId), queryFn: () => listShares(threadId) });
  const share = useMutation({
    mutationFn: (address: string) => shareThread(threadId, address),
    onSuccess: () => {
      setEmail("");
      setSent(SHARED_MESSAGE);
      void refetchFresh(queryClient, shareKeys.shares(threadId));
    },
  });
  const remove = useMutation({
    mutationFn: (row: Share) => unshareThread(threadId, row.id),
    onSuccess: () => {
      setSent("");
      void refetchFresh(queryClient, shareKeys.shares(threadId));
    },
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setSent("");
    if (email.trim()) share.mutate(email.trim());
  };

  return (
    <Dialog
      title={`Share “${title}”`}
      onClose={onClose}
      actions={
        <button type="button" className="button" onClick={onClose}>
          Close
        </button>
      }
    >
      <p className="muted">People you share with can read this conversation; they cannot write in it.</p>
      <form className="share-form" onSubmit={onSubmit}>
        <label htmlFor={inputId}>Email</label>
        <div className="copy-row">
          <input
            id={inputId}
            type="email"
            required
            autoComplete="off"
            value={email}
            data-autofocus
            onChange={(e) => setEmail(e.target.value)}
          />
          <button type="submit" className="button primary" disabled={share.isPending || !email.trim()}>
            Share
          </button>
        </div>
      </form>
      {share.isError && <ErrorAlert message={errorMessage(share.error)} />}
      <p role="status" className="success">
        {sent}
      </p>
      <h3 className="small-heading">Shared with</h3>
      {shares.isError && <ErrorAlert message={errorMessage(shares.error)} onRetry={() => void shares.refetch()} />}
      {remove.isError && <ErrorAlert message={errorMessage(remove.error)} />}
      {shares.isSuccess && shares.data.length === 0 && <p className="muted">Nobody yet.</p>}
      <ul role="list" aria-label="Shared with" className="share-list">
        {shares.data?.map((row) => (
          <li key={row.id} className="share-row">
            <span className="share-person">
              {personName(row)}
              {row.display_name && <span className="muted small"> {row.email}</span>}
            </span>
            <button
              type="button"
              className="button subtle danger-text"
              disabled={remove.isPending}
              aria-label={`Remove ${personName(row)}`}
              onClick={() => remove.mutate(row)}
            >
              Remove
            </button>
          </li>
        ))}
      </ul>
      <LinkSection threadId={threadId} />
    </Dialog>
  );
}
