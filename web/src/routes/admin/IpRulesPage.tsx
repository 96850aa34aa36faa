import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { ErrorAlert } from "../../components/ErrorAlert";
import { StatusBadge } from "../../components/StatusBadge";
import { TableWrap } from "../../components/TableWrap";
import { localInputToIso, when } from "../../format";
import { refetchFresh } from "../../api/refetch";

export type IpRule = Schemas["IpRuleOut"];
export type IpRuleInput = Schemas["IpRuleCreate"];

const ipRulesKey = ["admin", "ip-rules"] as const;

export function listIpRules(): Promise<{ items: IpRule[]; next_cursor: string | null }> {
  return unwrap(api.GET("/api/admin/ip-rules", { params: { query: { limit: 100 } } }));
}

export function createIpRule(body: IpRuleInput): Promise<IpRule> {
  return unwrap(api.POST("/api/admin/ip-rules", { body }));
}

export async function deleteIpRule(id: string): Promise<void> {
  await unwrap(api.DELETE("/api/admin/ip-rules/{rule_id}", { params: { path: { rule_id: id } } }));
}

/** /admin/ip-rules: the allow and block lists of client addresses. */
export function IpRulesPage() {
  useEffect(() => {
    document.title = "IP rules · Confide";
  }, []);
  return (
    <>
      <h1>IP rules</h1>
      <p className="muted">
        A blocked address or range gets no answer but “blocked” on any page or API call. An allowed one
        is never blocked, not even after many failed sign-ins (each account still locks on its own).
        Allow wins over block.
      </p>
      <IpRuleForm />
      <IpRuleList />
    </>
  );
}

function IpRuleForm() {
  const queryClient = useQueryClient();
  const ids = useId();
  const [cidr, setCidr] = useState("");
  const [action, setAction] = useState<IpRuleInput["action"]>("block");
  const [note, setNote] = useState("");
  const [expires, setExpires] = useState("");
  const create = useMutation({
    mutationFn: () =>
      createIpRule({
        cidr: cidr.trim(),
        action,
        note: note.trim(),
        expires_at: expires ? localInputToIso(expires) : null,
      }),
    onSuccess: () => {
      setCidr("");
      setNote("");
      setExpires("");
      void refetchFresh(queryClient, ipRulesKey);
    },
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <section className="card" aria-labelledby={`${ids}-heading`}>
      <h2 id={`${ids}-heading`}>New rule</h2>
      <form className="stack" onSubmit={onSubmit}>
        <div className="field">
          <label htmlFor={`${ids}-cidr`}>Address or range</label>
          <input
            id={`${ids}-cidr`}
            value={cidr}
            required
            maxLength={64}
            autoComplete="off"
            spellCheck={false}
            aria-describedby={`${ids}-cidr-hint`}
            onChange={(e) => setCidr(e.target.value)}
          />
          <p id={`${ids}-cidr-hint`} className="hint">
            One address (203.0.113.7, 2001:db8::1) or a CIDR range (203.0.113.0/24, 2001:db8::/48).
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${ids}-action`}>Action</label>
          <select
            id={`${ids}-action`}
            value={action}
            onChange={(e) => setAction(e.target.value as IpRuleInput["action"])}
          >
            <option value="block">Block</option>
            <option value="allow">Allow</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${ids}-note`}>Note (optional)</label>
          <input id={`${ids}-note`} value={note} maxLength={200} onChange={(e) => setNote(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${ids}-expires`}>Expires (optional)</label>
          <input
            id={`${ids}-expires`}
            type="datetime-local"
            value={expires}
            aria-describedby={`${ids}-expires-hint`}
            onChange={(e) => setExpires(e.target.value)}
          />
          <p id={`${ids}-expires-hint`} className="hint">
            Empty: the rule stays until you delete it.
          </p>
        </div>
        {create.isError && <ErrorAlert message={errorMessage(create.error)} />}
        <div>
          <button type="submit" className="button primary" disabled={create.isPending}>
            Add rule
          </button>
        </div>
      </form>
    </section>
  );
}

function IpRuleList() {
  const queryClient = useQueryClient();
  const rules = useQuery({ queryKey: ipRulesKey, queryFn: listIpRules });
  const remove = useMutation({
    mutationFn: (rule: IpRule) => deleteIpRule(rule.id),
    onSuccess: () => void refetchFresh(queryClient, ipRulesKey),
  });
  const items = rules.data?.items ?? [];
  const now = Date.now();
  return (
    <section aria-labelledby="ip-rules-heading">
      <h2 id="ip-rules-heading">Rules</h2>
      {rules.isError && <ErrorAlert message={errorMessage(rules.error)} onRetry={() => void rules.refetch()} />}
      {remove.isError && <ErrorAlert message={errorMessage(remove.error)} />}
      {rules.isPending && <p className="muted">Loading…</p>}
      {rules.isSuccess && items.length === 0 && <p className="muted">No rules yet.</p>}
      {items.length > 0 && (
        <TableWrap label="IP rules table">
          <table className="data-table" aria-label="IP rules">
            <thead>
              <tr>
                <th scope="col">Address or range</th>
                <th scope="col">Action</th>
                <th scope="col">Note</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((rule) => {
                const expired = rule.expires_at !== null && new Date(rule.expires_at).getTime() <= now;
                return (
                  <tr key={rule.id} data-testid="ip-rule-row">
                    <td>
                      <code>{rule.cidr}</code>
                    </td>
                    <td>
                      <StatusBadge status={rule.action} label={rule.action === "block" ? "Block" : "Allow"} />
                    </td>
                    <td>{rule.note || <span className="muted">—</span>}</td>
                    <td className="nowrap">{when(rule.created_at)}</td>
                    <td className="nowrap">
                      {rule.expires_at ? (
                        <>
                          {when(rule.expires_at)}
                          {expired && <span className="muted"> (expired)</span>}
                        </>
                      ) : (
                        <span className="muted">never</span>
                      )}
                    </td>
                    <td>
                      <button
                        type="button"
                        className="button subtle danger-text"
                        disabled={remove.isPending}
                        aria-label={`Delete the ${rule.action} rule for ${rule.cidr}`}
                        onClick={() => remove.mutate(rule)}
                      >
                        Delete
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableWrap>
      )}
    </section>
  );
}
