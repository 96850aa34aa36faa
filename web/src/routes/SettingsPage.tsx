import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router";
import { changePassword, endSession, listAccountEvents, listSessions, logoutEverywhere } from "../api/auth";
import type { SessionInfo } from "../api/client";
import { ApiError, errorMessage } from "../api/errors";
import { keys } from "../api/threads";
import { describeEvent, isWarning } from "../auth/activity";
import { forgetUser } from "../auth/signedOut";
import { useMe } from "../auth/useMe";
import { ErrorAlert } from "../components/ErrorAlert";
import { Field } from "../components/Field";
import { LoadMore } from "../components/LoadMore";
import { when } from "../format";
import { EmailSettings } from "./EmailSettings";
import { MfaSettings } from "./MfaSettings";
import { PasskeySettings } from "./PasskeySettings";
import { PhoneSettings } from "./PhoneSettings";
import { NotificationSettings } from "./NotificationSettings";
import { PrivacySettings } from "./PrivacySettings";
import { UsageSettings } from "./UsageSettings";
import { refetchFresh } from "../api/refetch";

export function SettingsPage() {
  const me = useMe();
  useEffect(() => {
    document.title = "Account · Confide";
  }, []);
  return (
    <div className="page settings">
      <h1>Account</h1>
      {me.data && (
        <p className="muted">
          Signed in as <strong>{me.data.display_name ?? me.data.email}</strong>
          {me.data.display_name ? ` (${me.data.email})` : ""}
        </p>
      )}
      <EmailSettings />
      <PasswordForm />
      <MfaSettings />
      <PasskeySettings />
      <PhoneSettings />
      <NotificationSettings />
      <ConnectionsLink />
      <ImportLink />
      <Sessions />
      <AccountActivity />
      <UsageSettings />
      <PrivacySettings />
    </div>
  );
}

function ImportLink() {
  return (
    <section className="card" aria-labelledby="import-heading">
      <h2 id="import-heading">Import conversations</h2>
      <p className="muted">
        Bring your ChatGPT history, or threads exported from Confide. <Link to="/settings/import">Import a file</Link>
      </p>
    </section>
  );
}

function ConnectionsLink() {
  return (
    <section className="card" aria-labelledby="connections-heading">
      <h2 id="connections-heading">Connections</h2>
      <p className="muted">
        Your own accounts on the tool servers some agents use. <Link to="/settings/connections">Manage connections</Link>
      </p>
    </section>
  );
}

function PasswordForm() {
  const queryClient = useQueryClient();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [done, setDone] = useState(false);
  const change = useMutation({
    mutationFn: () => changePassword(current, next),
    onSuccess: () => {
      setCurrent("");
      setNext("");
      setDone(true);
      void refetchFresh(queryClient, keys.sessions);
      void refetchFresh(queryClient, keys.accountEvents);
    },
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setDone(false);
    change.mutate();
  };
  return (
    <section className="card" aria-labelledby="password-heading">
      <h2 id="password-heading">Change password</h2>
      <form onSubmit={onSubmit} className="stack">
        <Field
          label="Current password"
          type="password"
          value={current}
          onChange={setCurrent}
          autoComplete="current-password"
        />
        <Field
          label="New password"
          type="password"
          value={next}
          onChange={setNext}
          autoComplete="new-password"
          hint="At least 12 characters. Your other devices are signed out."
        />
        {change.isError && (
          <ErrorAlert
            message={
              change.error instanceof ApiError && change.error.code === "invalid_credentials"
                ? "The current password is not right."
                : errorMessage(change.error)
            }
          />
        )}
        <p role="status" className="success">
          {done ? "Password changed. Other devices were signed out." : ""}
        </p>
        <div>
          <button type="submit" className="button primary" disabled={change.isPending}>
            Change password
          </button>
        </div>
      </form>
    </section>
  );
}

function Sessions() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const sessions = useQuery({ queryKey: keys.sessions, queryFn: listSessions });
  const signedOut = () => {
    forgetUser(queryClient, { explicit: true });
    void navigate("/login", { replace: true });
  };
  const end = useMutation({
    mutationFn: (row: SessionInfo) => endSession(row.id),
    onSuccess: (_, row) => {
      if (row.current) signedOut();
      else {
        void refetchFresh(queryClient, keys.sessions);
        void refetchFresh(queryClient, keys.accountEvents);
      }
    },
  });
  const everywhere = useMutation({ mutationFn: logoutEverywhere, onSettled: signedOut });

  return (
    <section className="card" aria-labelledby="sessions-heading">
      <h2 id="sessions-heading">Sessions</h2>
      <p className="muted">Devices signed in to your account.</p>
      {sessions.isError && (
        <ErrorAlert message={errorMessage(sessions.error)} onRetry={() => void sessions.refetch()} />
      )}
      {end.isError && <ErrorAlert message={errorMessage(end.error)} />}
      <ul role="list" aria-label="Sessions" className="session-list">
        {sessions.data?.map((row) => (
          <li key={row.id} className="session-row">
            <div className="session-info">
              <p className="session-label">
                {row.label || "Unknown device"}
                {row.current && <span className="badge">This device</span>}
              </p>
              <p className="muted small">
                {row.ip ? `${row.ip} · ` : ""}signed in {when(row.created_at)} · last seen{" "}
                {when(row.last_seen_at)}
              </p>
            </div>
            <button
              type="button"
              className="button subtle"
              disabled={end.isPending}
              onClick={() => end.mutate(row)}
            >
              {row.current ? "Sign out" : "Sign out this device"}
            </button>
          </li>
        ))}
      </ul>
      <button
        type="button"
        className="button danger"
        disabled={everywhere.isPending}
        onClick={() => everywhere.mutate()}
      >
        Sign out everywhere
      </button>
    </section>
  );
}

function AccountActivity() {
  const events = useInfiniteQuery({
    queryKey: keys.accountEvents,
    queryFn: ({ pageParam }) => listAccountEvents(pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
    refetchOnMount: "always",
  });
  const items = events.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <section className="card" aria-labelledby="activity-heading">
      <h2 id="activity-heading">Account activity</h2>
      <p className="muted">Sign-ins, failed sign-ins, password changes and ended sessions, newest first.</p>
      {events.isError && <ErrorAlert message={errorMessage(events.error)} onRetry={() => void events.refetch()} />}
      {events.isPending && <p className="muted">Loading…</p>}
      {events.isSuccess && items.length === 0 && <p className="muted">Nothing recorded yet.</p>}
      <ul role="list" aria-label="Account activity" className="session-list">
        {items.map((event) => (
          <li
            key={event.id}
            className={`session-row${isWarning(event) ? " warning-row" : ""}`}
            data-testid="account-event"
            data-action={event.action}
            data-outcome={event.outcome}
          >
            <div className="session-info">
              <p className="session-label">{describeEvent(event)}</p>
              <p className="muted small">
                {when(event.at)} · {event.device}
                {event.ip ? ` · ${event.ip}` : ""}
              </p>
            </div>
          </li>
        ))}
      </ul>
      <LoadMore
        hasMore={events.hasNextPage}
        loading={events.isFetchingNextPage}
        onLoad={() => void events.fetchNextPage()}
        label="Load more activity"
      />
    </section>
  );
}
