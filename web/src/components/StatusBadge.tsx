const LABELS: Record<string, string> = {
  active: "Active",
  pending: "Pending approval",
  disabled: "Disabled",
  used: "Used",
  expired: "Expired",
  revoked: "Revoked",
  success: "Success",
  failure: "Failure",
  denied: "Denied",
};

/** A status as a small coloured label (colour is never the only signal: the word is there). */
export function StatusBadge({ status, label }: { status: string; label?: string }) {
  return (
    <span className={`status-badge status-${status}`} data-status={status}>
      {label ?? LABELS[status] ?? status}
    </span>
  );
}
