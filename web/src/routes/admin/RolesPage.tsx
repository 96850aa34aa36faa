import { useQuery } from "@tanstack/react-query";
import { useEffect } from "react";
import { Link } from "react-router";
import { adminKeys, listRoles } from "../../api/admin";
import { errorMessage } from "../../api/errors";
import { TableWrap } from "../../components/TableWrap";
import { ErrorAlert } from "../../components/ErrorAlert";

export function RolesPage() {
  const roles = useQuery({ queryKey: adminKeys.roles, queryFn: listRoles });
  useEffect(() => {
    document.title = "Roles · Confide";
  }, []);
  return (
    <>
      <div className="page-header">
        <h1>Roles</h1>
        <Link to="/admin/roles/new" className="button primary">
          New role
        </Link>
      </div>
      <p className="muted">
        A role grants permissions and inherits every permission of its parent. A user holds the
        permissions of all their roles.
      </p>
      {roles.isError && <ErrorAlert message={errorMessage(roles.error)} onRetry={() => void roles.refetch()} />}
      {roles.isPending && <p className="muted">Loading…</p>}
      {roles.data && (
        <TableWrap label="Roles table">
          <table className="data-table" aria-label="Roles">
            <thead>
              <tr>
                <th scope="col">Role</th>
                <th scope="col">Inherits from</th>
                <th scope="col">Grants</th>
                <th scope="col">Description</th>
              </tr>
            </thead>
            <tbody>
              {roles.data.map((role) => (
                <tr key={role.name}>
                  <td>
                    <Link to={`/admin/roles/${encodeURIComponent(role.name)}`}>{role.name}</Link>
                    {role.builtin && <span className="badge">Built-in</span>}
                  </td>
                  <td>{role.parent ?? <span className="muted">none</span>}</td>
                  <td>
                    {role.permissions.length} permission{role.permissions.length === 1 ? "" : "s"}
                  </td>
                  <td>{role.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </>
  );
}
