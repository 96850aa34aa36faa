import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import {
  adminKeys,
  createInvite,
  listInvites,
  revokeInvite,
  type Invite,
  type InviteCreated,
} from "../../api/admin";
import { errorMessage } from "../../api/errors";
import { CopyButton } from "../../components/CopyButton";
import { TableWrap } from "../../components/TableWrap";
import { ErrorAlert } from "../../components/ErrorAlert";
import { LoadMore } from "../../components/LoadMore";
import { StatusBadge } from "../../components/StatusBadge";
import { when } from "../../format";
import { inviteLink } from "../../admin/invites";
import { useRoleNames } from "./UsersPage";
import { refetchFresh } from "../../api/refetch";

const DAY = 86_400;
export const EXPIRY_CHOICES = [
  { seconds: DAY, label: "1 day" },
  { seconds: 3 * DAY, label: "3 days" },
  { seconds: 7 * DAY, label: "7 days" },
  { seconds: 30 * DAY, label: "30 days" },
];

const INVITE_LABELS: Record<string, string> = { pending: "Not used yet" };

export function InvitesPage() {
  const [created, setCreated] = useState<InviteCreated | null>(null);
  useEffect(() => {
    document.title = "Invites · Confide";
  }, []);
  return (
    <>
      <h1>Invites</h1>
      <p className="muted">
        An invite is a link that creates one account, with the roles you choose, even when
        registration is closed or needs approval.
      </p>
      <InviteForm onCreated={setCreated} />
      {created && <CreatedInvite invite={created} onDismiss={() => setCreated(null)} />}
      <InviteList />
    </>
  );
}

function InviteForm({ onCreated }: { onCreated: (invite: InviteCreated) => void }) {
  const queryClient = useQueryClient();
  const ids = useId();
  const roles = useRoleNames();
  const [email, setEmail] = useState("");
  const [seconds, setSeconds] = useState(7 * DAY);
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [send, setSend] = useState(false);
  const create = useMutation({
    mutationFn: () =>
      createInvite({
        email: email.trim() || null,
        expires_in_seconds: seconds,
        roles: [...chosen].sort(),
        send: send && email.trim() !== "",
      }),
    onSuccess: (invite) => {
      setEmail("");
      setSend(false);
      setChosen(new Set());
      onCreated(invite);
      void refetchFresh(queryClient, adminKeys.invites);
    },
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <section className="card" aria-labelledby="new-invite-heading">
      <h2 id="new-invite-heading">New invite</h2>
      <form className="stack" onSubmit={onSubmit}>
        <div className="field">
          <label htmlFor={`${ids}-email`}>Email (optional)</label>
          <input
            id={`${ids}-email`}
            type="email"
            value={email}
            autoComplete="off"
            aria-describedby={`${ids}-email-hint`}
            onChange={(e) => setEmail(e.target.value)}
          />
          <p id={`${ids}-email-hint`} className="hint">
            With an email, only that address can use the link.
          </p>
          <label className="checkbox">
            <input
              type="checkbox"
              checked={send}
              disabled={!email.trim()}
              onChange={(e) => setSend(e.target.checked)}
            />
            <span className="checkbox-label">Mail the link to this address</span>
          </label>
        </div>
        <div className="field">
          <label htmlFor={`${ids}-expiry`}>Expires after</label>
          <select id={`${ids}-expiry`} value={seconds} onChange={(e) => setSeconds(Number(e.target.value))}>
            {EXPIRY_CHOICES.map((choice) => (
              <option key={choice.seconds} value={choice.seconds}>
                {choice.label}
              </option>
            ))}
          </select>
        </div>
        {roles.isError && <ErrorAlert message={errorMessage(roles.error)} />}
        {roles.data && (
          <fieldset className="checkbox-list">
            <legend>Roles to grant</legend>
            {roles.data.map((role) => (
              <label key={role.name} className="checkbox">
                <input
                  type="checkbox"
                  checked={chosen.has(role.name)}
                  onChange={(e) =>
                    setChosen((previous) => {
                      const next = new Set(previous);
                      if (e.target.checked) next.add(role.name);
                      else next.delete(role.name);
                      return next;
                    })
                  }
                />
                <span className="checkbox-label">{role.name}</span>
              </label>
            ))}
            <p className="hint">Every account holds the user role; pick the others it should hold.</p>
          </fieldset>
        )}
        {create.isError && <ErrorAlert message={errorMessage(create.error)} />}
        <div>
          <button type="submit" className="button primary" disabled={create.isPending}>
            Create invite
          </button>
        </div>
      </form>
    </section>
  );
}

function CreatedInvite({ invite, onDismiss }: { invite: InviteCreated; onDismiss: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const id = useId();
  const link = inviteLink(invite);
  return (
    <section className="card highlight" aria-labelledby={`${id}-heading`} data-testid="invite-link">
      <h2 id={`${id}-heading`}>Invite link</h2>
      <p>
        Send this link{invite.email ? ` to ${invite.email}` : ""}. It works once, until{" "}
        {when(invite.expires_at)}. It is not shown again: only its hash is stored.
      </p>
      <div className="copy-row">
        <label htmlFor={id} className="sr-only">
          Invite link
        </label>
        <input id={id} ref={input} readOnly value={link} onFocus={(e) => e.target.select()} />
        <CopyButton text={link} label="Copy link" fallback={() => input.current} />
      </div>
      <button type="button" className="button subtle" onClick={onDismiss}>
        Done
      </button>
    </section>
  );
}

function InviteList() {
  const queryClient = useQueryClient();
  const invites = useInfiniteQuery({
    queryKey: adminKeys.invites,
    queryFn: ({ pageParam }) => listInvites(pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  });
  const revoke = useMutation({
    mutationFn: (invite: Invite) => revokeInvite(invite.id),
    onSuccess: () => void refetchFresh(queryClient, adminKeys.invites),
  });
  const items = invites.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <section aria-labelledby="invites-heading">
      <h2 id="invites-heading">Invites sent</h2>
      {invites.isError && <ErrorAlert message={errorMessage(invites.error)} onRetry={() => void invites.refetch()} />}
      {revoke.isError && <ErrorAlert message={errorMessage(revoke.error)} />}
      {invites.isPending && <p className="muted">Loading…</p>}
      {invites.isSuccess && items.length === 0 && <p className="muted">No invites yet.</p>}
      {items.length > 0 && (
        <TableWrap label="Invites table">
          <table className="data-table" aria-label="Invites">
            <thead>
              <tr>
                <th scope="col">For</th>
                <th scope="col">Roles</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((invite) => {
                const status = invite.status;
                return (
                  <tr key={invite.id} data-testid="invite-row">
                    <td>{invite.email ?? <span className="muted">anyone with the link</span>}</td>
                    <td>{invite.roles.length ? invite.roles.join(", ") : <span className="muted">user</span>}</td>
                    <td className="nowrap">{when(invite.created_at)}</td>
                    <td className="nowrap">{when(invite.expires_at)}</td>
                    <td>
                      <StatusBadge status={status} label={INVITE_LABELS[status]} />
                    </td>
                    <td>
                      {status === "pending" && (
                        <button
                          type="button"
                          className="button subtle danger-text"
                          disabled={revoke.isPending}
                          aria-label={`Revoke the invite for ${invite.email ?? "anyone"}, created ${when(
                            invite.created_at,
                          )}`}
                          onClick={() => revoke.mutate(invite)}
                        >
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableWrap>
      )}
      <LoadMore
        hasMore={invites.hasNextPage}
        loading={invites.isFetchingNextPage}
        onLoad={() => void invites.fetchNextPage()}
        label="Load more invites"
      />
    </section>
  );
}
