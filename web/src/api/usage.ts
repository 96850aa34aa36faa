// The caller's usage summary (GET /api/me/usage): tokens, answers, runs, tool calls and model
// time, in total, per agent, and per day (last 30) or month (last 12) in their time zone.
import { api, unwrap, type Schemas } from "./client";

export type UsageSummary = Schemas["UsageSummary"];
export type UsagePeriod = UsageSummary["period"];

export const usageKeys = {
  summary: (period: UsagePeriod, tz: string) => ["usage", period, tz] as const,
};

/** The browser's IANA time zone (UTC when it does not say). */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

export function getUsage(period: UsagePeriod, tz: string): Promise<UsageSummary> {
  return unwrap(api.GET("/api/me/usage", { params: { query: { period, tz } } }));
}
