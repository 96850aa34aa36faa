// Settings, "Usage": what the caller's conversations cost, by day (last 30) or month (last
// 12), with a bar per bucket and the totals per agent. Numbers from GET /api/me/usage.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { browserTimeZone, getUsage, usageKeys, type UsagePeriod, type UsageSummary } from "../api/usage";
import { errorMessage } from "../api/errors";
import { ErrorAlert } from "../components/ErrorAlert";
import { formatDuration } from "../components/chat/ToolCard";

const count = new Intl.NumberFormat();

function many(n: number, noun: string): string {
  return `${count.format(n)} ${noun}${n === 1 ? "" : "s"}`;
}

const PERIOD_LABEL: Record<UsagePeriod, string> = { day: "Last 30 days", month: "Last 12 months" };

function bucketLabel(start: string, period: UsagePeriod, tz: string): string {
  const options: Intl.DateTimeFormatOptions =
    period === "day" ? { month: "short", day: "numeric", timeZone: tz } : { month: "short", year: "numeric", timeZone: tz };
  return new Intl.DateTimeFormat(undefined, options).format(new Date(start));
}

export function UsageSettings() {
  const [period, setPeriod] = useState<UsagePeriod>("day");
  const tz = browserTimeZone();
  const usage = useQuery({ queryKey: usageKeys.summary(period, tz), queryFn: () => getUsage(period, tz) });
  return (
    <section className="card" aria-labelledby="usage-heading" data-testid="usage-settings">
      <h2 id="usage-heading">Usage</h2>
      <div className="usage-periods" role="group" aria-label="Period">
        {(["day", "month"] as const).map((p) => (
          <button
            key={p}
            type="button"
            className={`button small${p === period ? "" : " subtle"}`}
            aria-pressed={p === period}
            onClick={() => setPeriod(p)}
          >
            {p === "day" ? "By day" : "By month"}
          </button>
        ))}
      </div>
      {usage.error && <ErrorAlert message={errorMessage(usage.error)} onRetry={() => void usage.refetch()} />}
      {usage.isPending && <p className="muted">Loading…</p>}
      {usage.data && <UsageReport summary={usage.data} />}
    </section>
  );
}

function UsageReport({ summary }: { summary: UsageSummary }) {
  const peak = Math.max(1, ...summary.buckets.map((b) => b.input_tokens + b.output_tokens));
  return (
    <>
      <p data-testid="usage-totals">
        {PERIOD_LABEL[summary.period]}: <strong>{count.format(summary.input_tokens)}</strong> tokens in,{" "}
        <strong>{count.format(summary.output_tokens)}</strong> out, in {many(summary.messages, "answer")} (
        {many(summary.runs, "turn")}, {many(summary.tool_calls, "tool call")}); models worked{" "}
        {formatDuration(summary.model_ms) || "0 ms"}.
      </p>
      {summary.runs === 0 ? (
        <p className="muted">Nothing yet in this period.</p>
      ) : (
        <>
          <ol className="usage-bars" aria-label={`Tokens per ${summary.period}`}>
            {summary.buckets.map((bucket) => {
              const tokens = bucket.input_tokens + bucket.output_tokens;
              const label = bucketLabel(bucket.start, summary.period, summary.tz);
              return (
                <li key={bucket.start} title={`${label}: ${count.format(tokens)} tokens, ${many(bucket.messages, "answer")}`}>
                  <span className="usage-bar" style={{ height: `${(100 * tokens) / peak}%` }} />
                  <span className="sr-only">
                    {label}: {count.format(tokens)} tokens, {many(bucket.messages, "answer")}
                  </span>
                </li>
              );
            })}
          </ol>
          <table className="usage-agents">
            <caption className="sr-only">Per agent</caption>
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col">Tokens in</th>
                <th scope="col">Tokens out</th>
                <th scope="col">Answers</th>
              </tr>
            </thead>
            <tbody>
              {summary.by_agent.map((agent) => (
                <tr key={agent.agent_id}>
                  <th scope="row">{agent.agent_id}</th>
                  <td>{count.format(agent.input_tokens)}</td>
                  <td>{count.format(agent.output_tokens)}</td>
                  <td>{count.format(agent.messages)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <p className="muted">Times are cut in your time zone ({summary.tz}). A turn counts on the day it started.</p>
    </>
  );
}
