import { useInfiniteQuery } from "@tanstack/react-query";
import { useEffect, useId, useState } from "react";
import { adminKeys, listAudit, type AuditEvent, type AuditFilters } from "../../api/admin";
import { errorMessage } from "../../api/errors";
import { TableWrap } from "../../components/TableWrap";
import { ErrorAlert } from "../../components/ErrorAlert";
import { LoadMore } from "../../components/LoadMore";
import { StatusBadge } from "../../components/StatusBadge";
import { localInputToIso, when } from "../../format";
import { useDebounced } from "../../hooks";
import { AUDIT_ACTIONS, detailText, originText } from "../../admin/audit";

const OUTCOMES: { value: AuditFilters["outcome"]; label: string }[] = [
  { value: "", label: "Any outcome" },
  { value: "success", label: "Success" },
  { value: "failure", label: "Failure" },
  { value: "denied", label: "Denied" },
];

export function AuditPage() {
  const ids = useId();
  const [actor, setActor] = useState("");
  const [action, setAction] = useState("");
  const [target, setTarget] = useState("");
  const [outcome, setOutcome] = useState<AuditFilters["outcome"]>("");
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  const typed = useDebounced({ actor: actor.trim(), action: action.trim(), target: target.trim() }, 300);
  const filters: AuditFilters = {
    ...typed,
    outcome,
    since: localInputToIso(since),
    until: localInputToIso(until),
  };
  const events = useInfiniteQuery({
    queryKey: adminKeys.audit(filters),
    queryFn: ({ pageParam }) => listAudit(filters, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  });
  useEffect(() => {
    document.title = "Audit log · Confide";
  }, []);
  const items = events.data?.pages.flatMap((page) => page.items) ?? [];
  const filtered = Object.values(filters).some(Boolean);

  return (
    <>
      <h1>Audit log</h1>
      <p className="muted">Who did what, newest first. Rows are only ever added, and hash-chained.</p>
      <div className="filters" role="search" aria-label="Filter the audit log">
        <div className="field">
          <label htmlFor={`${ids}-actor`}>Actor</label>
          <input
            id={`${ids}-actor`}
            type="search"
            placeholder="Email"
            value={actor}
            onChange={(e) => setActor(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={`${ids}-action`}>Action</label>
          <input
            id={`${ids}-action`}
            type="search"
            list={`${ids}-actions`}
            value={action}
            onChange={(e) => setAction(e.target.value)}
          />
          <datalist id={`${ids}-actions`}>
            {AUDIT_ACTIONS.map((name) => (
              <option key={name} value={name} />
            ))}
          </datalist>
        </div>
        <div className="field">
          <label htmlFor={`${ids}-target`}>Target</label>
          <input
            id={`${ids}-target`}
            type="search"
            placeholder="type:id"
            value={target}
            onChange={(e) => setTarget(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={`${ids}-outcome`}>Outcome</label>
          <select
            id={`${ids}-outcome`}
            value={outcome}
            onChange={(e) => setOutcome(e.target.value as AuditFilters["outcome"])}
          >
            {OUTCOMES.map((choice) => (
              <option key={choice.value} value={choice.value}>
                {choice.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${ids}-since`}>From</label>
          <input id={`${ids}-since`} type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${ids}-until`}>Until</label>
          <input id={`${ids}-until`} type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} />
        </div>
      </div>
      {events.isError && <ErrorAlert message={errorMessage(events.error)} onRetry={() => void events.refetch()} />}
      {events.isPending && <p className="muted">Loading…</p>}
      {events.isSuccess && items.length === 0 && (
        <p className="muted">{filtered ? "No events match." : "Nothing recorded yet."}</p>
      )}
      {items.length > 0 && (
        <TableWrap label="Audit events table">
          <table className="data-table audit-table" aria-label="Audit events">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
              </tr>
            </thead>
            <tbody>
              {items.map((event) => (
                <AuditRow key={event.id} event={event} />
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <LoadMore
        hasMore={events.hasNextPage}
        loading={events.isFetchingNextPage}
        onLoad={() => void events.fetchNextPage()}
        label="Load more events"
      />
    </>
  );
}

function AuditRow({ event }: { event: AuditEvent }) {
  const detail = detailText(event.detail);
  const origin = originText(event);
  return (
    <tr data-testid="audit-row" data-action={event.action} data-outcome={event.outcome}>
      <td className="nowrap">{when(event.at)}</td>
      <td>{event.actor ?? <span className="muted">anonymous</span>}</td>
      <td>
        <code>{event.action}</code>
        {detail && <div className="muted small">{detail}</div>}
        {origin && <div className="muted small">{origin}</div>}
      </td>
      <td>
        {event.target_type ?? (event.target_id ? "" : <span className="muted">—</span>)}
        {event.target_id && <div className="mono-id">{event.target_id}</div>}
      </td>
      <td>
        <StatusBadge status={event.outcome} />
      </td>
    </tr>
  );
}
