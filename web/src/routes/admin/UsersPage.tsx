import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useEffect, useId, useState } from "react";
import { Link } from "react-router";
import { adminKeys, listRoles, listUsers, type UserFilters, type UserSort } from "../../api/admin";
import { errorMessage } from "../../api/errors";
import { can, USERS_READ } from "../../auth/access";
import { useMe } from "../../auth/useMe";
import { TableWrap } from "../../components/TableWrap";
import { ErrorAlert } from "../../components/ErrorAlert";
import { LoadMore } from "../../components/LoadMore";
import { StatusBadge } from "../../components/StatusBadge";
import { when } from "../../format";
import { useDebounced } from "../../hooks";

export const STATUS_CHOICES: { value: UserFilters["status"]; label: string }[] = [
  { value: "", label: "Any status" },
  { value: "pending", label: "Pending approval" },
  { value: "active", label: "Active" },
  { value: "disabled", label: "Disabled" },
];

const SORT_CHOICES: { value: UserSort; label: string }[] = [
  { value: "-created_at", label: "Newest first" },
  { value: "created_at", label: "Oldest first" },
  { value: "email", label: "Email A–Z" },
  { value: "-email", label: "Email Z–A" },
];

/** The roles to offer as a filter and as checkboxes (the API lists them under `users:read`). */
export function useRoleNames() {
  const me = useMe();
  return useQuery({
    queryKey: adminKeys.roles,
    queryFn: listRoles,
    enabled: can(me.data, USERS_READ),
    staleTime: 60_000,
  });
}

export function UsersPage() {
  const [search, setSearch] = useState("");
  const [role, setRole] = useState("");
  const [status, setStatus] = useState<UserFilters["status"]>("");
  const [sort, setSort] = useState<UserSort>("-created_at");
  const q = useDebounced(search.trim(), 250);
  const filters: UserFilters = { q, role, status, sort };
  const roles = useRoleNames();
  const users = useInfiniteQuery({
    queryKey: adminKeys.userList(filters),
    queryFn: ({ pageParam }) => listUsers(filters, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  });
  const roleId = useId();
  const statusId = useId();
  useEffect(() => {
    document.title = "Users · Confide";
  }, []);
  const items = users.data?.pages.flatMap((page) => page.items) ?? [];
  const sortId = useId();
  const filtered = Boolean(q || role || status);

  return (
    <>
      <h1>Users</h1>
      <div className="filters" role="search" aria-label="Filter users">
        <div className="field grow">
          <label htmlFor={`${roleId}-q`}>Search users</label>
          <input
            id={`${roleId}-q`}
            type="search"
            placeholder="Email or name"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={roleId}>Role</label>
          <select id={roleId} value={role} onChange={(e) => setRole(e.target.value)}>
            <option value="">Any role</option>
            {roles.data?.map((r) => (
              <option key={r.name} value={r.name}>
                {r.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={statusId}>Status</label>
          <select id={statusId} value={status} onChange={(e) => setStatus(e.target.value as UserFilters["status"])}>
            {STATUS_CHOICES.map((choice) => (
              <option key={choice.value} value={choice.value}>
                {choice.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={sortId}>Order</label>
          <select id={sortId} value={sort} onChange={(e) => setSort(e.target.value as UserSort)}>
            {SORT_CHOICES.map((choice) => (
              <option key={choice.value} value={choice.value}>
                {choice.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      {users.isError && <ErrorAlert message={errorMessage(users.error)} onRetry={() => void users.refetch()} />}
      {users.isPending && <p className="muted">Loading…</p>}
      {users.isSuccess && items.length === 0 && (
        <p className="muted">{filtered ? "No users match." : "No users yet."}</p>
      )}
      {items.length > 0 && (
        <TableWrap label="Users table">
          <table className="data-table" aria-label="Users">
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Status</th>
                <th scope="col">Roles</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {items.map((user) => (
                <tr key={user.id} data-testid="user-row">
                  <td>
                    <Link to={`/admin/users/${user.id}`}>{user.display_name ?? user.email}</Link>
                    {user.display_name && <div className="muted small">{user.email}</div>}
                  </td>
                  <td>
                    <StatusBadge status={user.status} />
                  </td>
                  <td>{user.roles.length ? user.roles.join(", ") : <span className="muted">none</span>}</td>
                  <td className="nowrap">{when(user.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <LoadMore
        hasMore={users.hasNextPage}
        loading={users.isFetchingNextPage}
        onLoad={() => void users.fetchNextPage()}
        label="Load more users"
      />
    </>
  );
}
