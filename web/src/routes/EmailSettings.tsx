// Account page: the email address (verified or not) and changing it. The change is a link to
// the new address; until it is opened the address stays as it is. A change needs a recent
// sign-in: the fetch layer asks "Confirm it's you" and sends it again (api/session.ts).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { EMAIL_KEY, emailStatus, requestEmailChange } from "../api/email";
import { errorMessage } from "../api/errors";
import { refetchFresh } from "../api/refetch";
import { keys } from "../api/threads";
import { ErrorAlert } from "../components/ErrorAlert";
import { Field } from "../components/Field";
import { StatusBadge } from "../components/StatusBadge";
import { when } from "../format";

export function EmailSettings() {
  const queryClient = useQueryClient();
  const status = useQuery({ queryKey: EMAIL_KEY, queryFn: emailStatus });
  const [next, setNext] = useState("");
  const [sentTo, setSentTo] = useState<string | null>(null);
  const change = useMutation({
    mutationFn: () => requestEmailChange(next),
    onSuccess: (address) => {
      setNext("");
      setSentTo(address);
      void refetchFresh(queryClient, EMAIL_KEY);
      void refetchFresh(queryClient, keys.accountEvents);
    },
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setSentTo(null);
    change.mutate();
  };
  const current = status.data;
  // A change asked for earlier (on this or another device); the one just made says more above.
  const pending = current?.pending_email && current.pending_email !== sentTo ? current : null;
  return (
    <section className="card" aria-labelledby="email-heading">
      <h2 id="email-heading">Email address</h2>
      {status.isError && <ErrorAlert message={errorMessage(status.error)} onRetry={() => void status.refetch()} />}
      {current && (
        <p data-testid="current-email">
          <strong>{current.email}</strong>{" "}
          {current.email_verified ? (
            <StatusBadge status="active" label="Verified" />
          ) : (
            <StatusBadge status="pending" label="Not verified" />
          )}
        </p>
      )}
      {sentTo && (
        <p className="notice-box" role="status" data-testid="email-change-sent">
          Check your new inbox: a link is on its way to <strong>{sentTo}</strong>. Your address changes
          when you open it (within 24 hours); until then it stays as it is. Your other devices are
          signed out when it changes.
        </p>
      )}
      {pending && (
        <p className="muted" data-testid="email-change-pending">
          Waiting for the link sent to <strong>{pending.pending_email}</strong>
          {pending.pending_expires_at ? ` (it works until ${when(pending.pending_expires_at)})` : ""}.
        </p>
      )}
      <form onSubmit={onSubmit} className="stack">
        <Field
          label="New email address"
          type="email"
          value={next}
          onChange={setNext}
          autoComplete="email"
          hint="We send a link there; the change is made when you open it."
        />
        {change.isError && <ErrorAlert message={errorMessage(change.error)} />}
        <div>
          <button type="submit" className="button primary" disabled={change.isPending}>
            Change email
          </button>
        </div>
      </form>
    </section>
  );
}
