import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useMemo, useState, type FormEvent } from "react";
import { Link, useLocation, useNavigate, useParams } from "react-router";
import {
  adminKeys,
  createRole,
  deleteRole,
  listPermissions,
  listRoles,
  updateRole,
  type PermissionInfo,
  type Role,
  type RoleInput,
  type RolePatch,
} from "../../api/admin";
import { errorMessage } from "../../api/errors";
import { inheritedGrants, matrix, parentChoices } from "../../admin/matrix";
import { Dialog } from "../../components/Dialog";
import { TableWrap } from "../../components/TableWrap";
import { ErrorAlert } from "../../components/ErrorAlert";
import { refetchFresh } from "../../api/refetch";

const ADMIN_ROLE = "admin";

/** /admin/roles/new and /admin/roles/:name: one form for both. */
export function RoleEditorPage() {
  const { name } = useParams();
  const editing = name ?? null;
  const roles = useQuery({ queryKey: adminKeys.roles, queryFn: listRoles });
  const permissions = useQuery({ queryKey: adminKeys.permissions, queryFn: listPermissions, staleTime: 10 * 60_000 });
  const role = editing ? roles.data?.find((r) => r.name === editing) : undefined;
  useEffect(() => {
    document.title = `${editing ?? "New role"} · Roles · Confide`;
  }, [editing]);

  const error = roles.error ?? permissions.error;
  return (
    <>
      <p className="breadcrumb">
        <Link to="/admin/roles">Roles</Link>
      </p>
      <h1>{editing ? `Role ${editing}` : "New role"}</h1>
      {error && (
        <ErrorAlert
          message={errorMessage(error)}
          onRetry={() => {
            void roles.refetch();
            void permissions.refetch();
          }}
        />
      )}
      {(roles.isPending || permissions.isPending) && !error && <p className="muted">Loading…</p>}
      {roles.data && permissions.data && editing && !role && <p>There is no role named “{editing}”.</p>}
      {roles.data && permissions.data && (!editing || role) && (
        <RoleForm key={editing ?? ""} role={role ?? null} roles={roles.data} permissions={permissions.data} />
      )}
    </>
  );
}

function RoleForm({ role, roles, permissions }: { role: Role | null; roles: Role[]; permissions: PermissionInfo[] }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const ids = useId();
  const [name, setName] = useState(role?.name ?? "");
  const [description, setDescription] = useState(role?.description ?? "");
  const [parent, setParent] = useState(role?.parent ?? "");
  const [mfaRequired, setMfaRequired] = useState(role?.mfa_required ?? false);
  const [granted, setGranted] = useState<Set<string>>(
    () => new Set((role?.name === ADMIN_ROLE ? role.effective_permissions : role?.permissions) ?? []),
  );
  // A role just created arrives here with `saved` (its page is a new one, at its name).
  const location = useLocation();
  const [saved, setSaved] = useState(() => (location.state as { saved?: boolean } | null)?.saved === true);
  useEffect(() => {
    // Said once: not again after a reload, which keeps the history entry's state.
    if (location.state) void navigate(location.pathname, { replace: true, state: null });
  }, [location.state, location.pathname, navigate]);
  const [confirmDelete, setConfirmDelete] = useState(false);
  // The built-in admin role holds every permission, always: shown, not edited.
  const locked = role?.name === ADMIN_ROLE;
  const builtin = role?.builtin ?? false;

  const choices = parentChoices(role?.name ?? null, roles);
  const inherited = useMemo(() => inheritedGrants(parent || null, roles), [parent, roles]);
  const groups = useMemo(() => matrix(permissions, granted, inherited), [permissions, granted, inherited]);

  const done = (updated: Role) => {
    void refetchFresh(queryClient, adminKeys.roles);
    void refetchFresh(queryClient, adminKeys.users);
    setSaved(true);
    if (!role || updated.name !== role.name) {
      void navigate(`/admin/roles/${encodeURIComponent(updated.name)}`, { replace: true, state: { saved: true } });
    }
  };
  const save = useMutation({
    mutationFn: () => {
      const input: Required<RoleInput> = {
        name: name.trim(),
        description: description.trim(),
        parent: parent || null,
        permissions: [...granted].sort(),
        mfa_required: mfaRequired,
      };
      return role ? updateRole(role.name, changedFields(role, input)) : createRole(input);
    },
    onSuccess: done,
  });
  const remove = useMutation({
    mutationFn: () => deleteRole(role?.name ?? ""),
    onSuccess: () => {
      void refetchFresh(queryClient, adminKeys.roles);
      void refetchFresh(queryClient, adminKeys.users);
      void navigate("/admin/roles", { replace: true });
    },
  });

  const toggle = (permission: string, on: boolean) => {
    setSaved(false);
    setGranted((previous) => {
      const next = new Set(previous);
      if (on) next.add(permission);
      else next.delete(permission);
      return next;
    });
  };
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    save.mutate();
  };

  return (
    <form className="stack" onSubmit={onSubmit} aria-label={role ? `Edit role ${role.name}` : "New role"}>
      {locked && (
        <p className="notice-box">
          The built-in <strong>admin</strong> role holds every permission but reading other users’
          threads, and cannot be changed.
        </p>
      )}
      <div className="field">
        <label htmlFor={`${ids}-name`}>Name</label>
        <input
          id={`${ids}-name`}
          value={name}
          required
          maxLength={64}
          readOnly={builtin}
          aria-describedby={`${ids}-name-hint`}
          onChange={(e) => setName(e.target.value)}
        />
        <p id={`${ids}-name-hint`} className="hint">
          {builtin ? "Built-in roles keep their name." : "Lowercase letters, digits, - and _ work everywhere."}
        </p>
      </div>
      <div className="field">
        <label htmlFor={`${ids}-description`}>Description</label>
        <input
          id={`${ids}-description`}
          value={description}
          maxLength={200}
          readOnly={locked}
          onChange={(e) => setDescription(e.target.value)}
        />
      </div>
      <label className="checkbox">
        <input
          type="checkbox"
          checked={mfaRequired}
          onChange={(e) => {
            setSaved(false);
            setMfaRequired(e.target.checked);
          }}
        />
        <span className="checkbox-label">
          Members must use two-factor authentication (those without it can only set it up)
        </span>
      </label>
      <div className="field">
        <label htmlFor={`${ids}-parent`}>Inherits from</label>
        <select
          id={`${ids}-parent`}
          value={parent}
          disabled={builtin}
          onChange={(e) => {
            setSaved(false);
            setParent(e.target.value);
          }}
        >
          <option value="">No parent</option>
          {choices.map((choice) => (
            <option key={choice.name} value={choice.name}>
              {choice.name}
            </option>
          ))}
        </select>
      </div>
      <fieldset className="matrix" disabled={locked || save.isPending}>
        <legend>Permissions</legend>
        <TableWrap label="Permissions table">
          <table className="data-table permission-matrix">
            <thead>
              <tr>
                <th scope="col">Grant</th>
                <th scope="col">Permission</th>
                <th scope="col">Inherited</th>
              </tr>
            </thead>
            {groups.map((group) => (
              <tbody key={group.label}>
                <tr className="group-row">
                  <th scope="rowgroup" colSpan={3}>
                    {group.label}
                  </th>
                </tr>
                {group.rows.map((row) => {
                  const inputId = `${ids}-p-${row.permission}`;
                  return (
                    <tr key={row.permission} data-testid="permission-row" data-permission={row.permission}>
                      <td>
                        <input
                          id={inputId}
                          type="checkbox"
                          checked={row.granted}
                          aria-describedby={`${inputId}-text`}
                          onChange={(e) => toggle(row.permission, e.target.checked)}
                        />
                      </td>
                      <td>
                        <label htmlFor={inputId} className="permission-name">
                          {row.permission}
                        </label>
                        <div id={`${inputId}-text`} className="muted small">
                          {row.description}
                        </div>
                      </td>
                      <td data-testid="inherited">
                        {row.inheritedFrom ? (
                          <span className="inherited">from {row.inheritedFrom}</span>
                        ) : (
                          <span className="sr-only">not inherited</span>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            ))}
          </table>
        </TableWrap>
      </fieldset>
      {save.isError && <ErrorAlert message={errorMessage(save.error)} />}
      <p role="status" className="success">
        {saved ? "Role saved. It applies from each holder's next request." : ""}
      </p>
      {!locked && (
        <div className="button-row">
          <button type="submit" className="button primary" disabled={save.isPending || !name.trim()}>
            {role ? "Save role" : "Create role"}
          </button>
          {role && !builtin && (
            <button type="button" className="button danger" onClick={() => setConfirmDelete(true)}>
              Delete role
            </button>
          )}
        </div>
      )}
      {confirmDelete && role && (
        <Dialog
          title={`Delete the role ${role.name}?`}
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
              <button type="button" className="button" data-autofocus onClick={() => setConfirmDelete(false)}>
                Cancel
              </button>
            </>
          }
        >
          <p>Everyone holding it loses its permissions on their next request.</p>
          {remove.isError && <ErrorAlert message={errorMessage(remove.error)} />}
        </Dialog>
      )}
    </form>
  );
}

/** A PATCH sends only what changed (a built-in role refuses a rename, even to its own name). */
export function changedFields(role: Role, input: Required<RoleInput>): RolePatch {
  const patch: RolePatch = {};
  if (input.name !== role.name) patch.name = input.name;
  if (input.description !== role.description) patch.description = input.description;
  if (input.parent !== (role.parent ?? null)) patch.parent = input.parent;
  if (input.mfa_required !== (role.mfa_required ?? false)) patch.mfa_required = input.mfa_required;
  const before = [...role.permissions].sort();
  if (before.length !== input.permissions.length || before.some((p, i) => p !== input.permissions[i])) {
    patch.permissions = input.permissions;
  }
  return patch;
}
