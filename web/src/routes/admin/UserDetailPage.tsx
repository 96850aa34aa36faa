import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, useParams } from "react-router";
import {
  adminKeys,
  endUserSessions,
  getUser,
  setUserRoles,
  setUserStatus,
  type AdminUser,
} from "../../api/admin";
import { ApiError, errorMessage } from "../../api/errors";
import { can, USERS_MANAGE } from "../../auth/access";
import { useMe } from "../../auth/useMe";
import { Dialog } from "../../components/Dialog";
import { ErrorAlert } from "../../components/ErrorAlert";
import { StatusBadge } from "../../components/StatusBadge";
import { when } from "../../format";
import { DeleteUser } from "./DeleteUser";
import { useRoleNames } from "./UsersPage";
import { refetchFresh } from "../../api/refetch";

export function UserDetailPage() {
  const { userId = "" } = useParams();
  const user = useQuery({ queryKey: adminKeys.user(userId), queryFn: () => getUser(userId) });
  const name = user.data ? (user.data.display_name ?? user.data.email) : "User";
  useEffect(() => {
    document.title = `${name} · Users · Confide`;
  }, [name]);

  if (user.error instanceof ApiError && user.error.status === 404) {
    return (
      <>
        <h1>User not found</h1>
        <p>
          <Link to="/admin/users">Back to users</Link>
        </p>
      </>
    );
  }
  return (
    <>
      <p className="breadcrumb">
        <Link to="/admin/users">Users</Link>
      </p>
      <h1>{user.isPending ? "Loading…" : name}</h1>
      {user.isError && <ErrorAlert message={errorMessage(user.error)} onRetry={() => void user.refetch()} />}
      {user.data && <UserDetail user={user.data} />}
    </>
  );
}

function UserDetail({ user }: { user: AdminUser }) {
  const me = useMe();
  const manage = can(me.data, USERS_MANAGE);
  const self = me.data?.id === user.id;
  return (
    <>
      <dl className="facts">
        <dt>Email</dt>
        <dd>{user.email}</dd>
        <dt>Status</dt>
        <dd>
          <StatusBadge status={user.status} />
        </dd>
        <dt>Created</dt>
        <dd>{when(user.created_at)}</dd>
      </dl>
      {manage && <StatusActions user={user} self={self} />}
      <RolesEditor user={user} manage={manage} self={self} />
      {manage && <EndSessions user={user} />}
      {manage && !self && <DeleteUser user={user} />}
    </>
  );
}

/** The answer of a change to a user: every view of that user is read again. */
function useUserChanged(user: AdminUser) {
  const queryClient = useQueryClient();
  return (updated?: unknown) => {
    if (updated && typeof updated === "object" && "id" in updated && "status" in updated) {
      queryClient.setQueryData(adminKeys.user(user.id), updated);
    }
    void refetchFresh(queryClient, adminKeys.users);
  };
}

function StatusActions({ user, self }: { user: AdminUser; self: boolean }) {
  const changed = useUserChanged(user);
  const [confirm, setConfirm] = useState(false);
  const [done, setDone] = useState("");
  const change = useMutation({
    mutationFn: (status: AdminUser["status"]) => setUserStatus(user.id, status),
    onSuccess: (updated, status) => {
      setConfirm(false);
      setDone(status === "active" ? (user.status === "pending" ? "Approved." : "Enabled.") : "Disabled.");
      changed(updated);
    },
  });
  return (
    <section className="card" aria-labelledby="status-heading">
      <h2 id="status-heading">Account status</h2>
      {user.status === "pending" && (
        <p className="muted">This account is waiting for approval: it can sign in and use nothing.</p>
      )}
      {user.status === "disabled" && <p className="muted">This account cannot sign in.</p>}
      {change.isError && <ErrorAlert message={errorMessage(change.error)} />}
      <p role="status" className="success">
        {done}
      </p>
      <div className="button-row">
        {user.status === "pending" && (
          <button
            type="button"
            className="button primary"
            disabled={change.isPending}
            onClick={() => change.mutate("active")}
          >
            Approve
          </button>
        )}
        {user.status === "disabled" && (
          <button
            type="button"
            className="button primary"
            disabled={change.isPending}
            onClick={() => change.mutate("active")}
          >
            Enable
          </button>
        )}
        {user.status !== "disabled" && (
          <button
            type="button"
            className="button danger"
            disabled={change.isPending || self}
            onClick={() => setConfirm(true)}
          >
            Disable
          </button>
        )}
      </div>
      {self && <p className="hint">You cannot disable your own account.</p>}
      {confirm && (
        <Dialog
          title="Disable this account?"
          onClose={() => setConfirm(false)}
          actions={
            <>
              <button
                type="button"
                className="button danger"
                disabled={change.isPending}
                onClick={() => change.mutate("disabled")}
              >
                Disable account
              </button>
              <button type="button" className="button" data-autofocus onClick={() => setConfirm(false)}>
                Cancel
              </button>
            </>
          }
        >
          <p>
            {user.email} will be signed out everywhere at once and cannot sign in until enabled again.
          </p>
          {change.isError && <ErrorAlert message={errorMessage(change.error)} />}
        </Dialog>
      )}
    </section>
  );
}

function RolesEditor({ user, manage, self }: { user: AdminUser; manage: boolean; self: boolean }) {
  const roles = useRoleNames();
  const changed = useUserChanged(user);
  const [chosen, setChosen] = useState<Set<string>>(() => new Set(user.roles));
  const [saved, setSaved] = useState(false);
  const current = new Set(user.roles);
  // Reset to the stored roles when they change (not on every refetch of the same ones, which
  // would throw away boxes ticked but not saved yet).
  const stored = user.roles.join(",");
  useEffect(() => setChosen(new Set(stored ? stored.split(",") : [])), [stored]);
  const save = useMutation({
    mutationFn: () => setUserRoles(user.id, [...chosen].sort()),
    onSuccess: (updated) => {
      setSaved(true);
      changed(updated);
    },
  });
  const dirty = chosen.size !== current.size || [...chosen].some((name) => !current.has(name));
  const editable = manage && !self;
  const names = roles.data?.map((role) => role.name) ?? user.roles;

  const toggle = (name: string, on: boolean) => {
    setSaved(false);
    setChosen((previous) => {
      const next = new Set(previous);
      if (on) next.add(name);
      else next.delete(name);
      return next;
    });
  };

  return (
    <section className="card" aria-labelledby="roles-heading">
      <h2 id="roles-heading">Roles</h2>
      {roles.isError && <ErrorAlert message={errorMessage(roles.error)} onRetry={() => void roles.refetch()} />}
      <fieldset className="checkbox-list" disabled={!editable || save.isPending}>
        <legend className="sr-only">Roles of {user.email}</legend>
        {names.map((name) => {
          const description = roles.data?.find((role) => role.name === name)?.description;
          return (
            <label key={name} className="checkbox">
              <input type="checkbox" checked={chosen.has(name)} onChange={(e) => toggle(name, e.target.checked)} />
              <span>
                <span className="checkbox-label">{name}</span>
                {description && <span className="muted small"> · {description}</span>}
              </span>
            </label>
          );
        })}
      </fieldset>
      {self && <p className="hint">You cannot change your own roles.</p>}
      {save.isError && <ErrorAlert message={errorMessage(save.error)} />}
      <p role="status" className="success">
        {saved && !dirty ? "Roles saved. They apply from the user's next request." : ""}
      </p>
      {editable && (
        <div className="button-row">
          <button
            type="button"
            className="button primary"
            disabled={!dirty || save.isPending}
            onClick={() => save.mutate()}
          >
            Save roles
          </button>
        </div>
      )}
    </section>
  );
}

function EndSessions({ user }: { user: AdminUser }) {
  const end = useMutation({ mutationFn: () => endUserSessions(user.id) });
  return (
    <section className="card" aria-labelledby="user-sessions-heading">
      <h2 id="user-sessions-heading">Sessions</h2>
      <p className="muted">Sign this user out on every device (their account stays as it is).</p>
      {end.isError && <ErrorAlert message={errorMessage(end.error)} />}
      <p role="status" className="success">
        {end.isSuccess ? "Every session of this user has ended." : ""}
      </p>
      <button type="button" className="button" disabled={end.isPending} onClick={() => end.mutate()}>
        End all sessions
      </button>
    </section>
  );
}
