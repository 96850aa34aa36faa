import type { Branch } from "../../chat/conversation";

/** "< 2/3 >": which version of a message this is, and buttons to the one before and after.
 * `onSwitch` gets the id of the version to show (its path becomes the thread's active one). */
export function BranchSwitcher({
  branch,
  onSwitch,
  disabled = false,
}: {
  branch: Branch;
  onSwitch?: ((messageId: string) => void) | undefined;
  disabled?: boolean;
}) {
  const off = disabled || !onSwitch;
  const step = (by: -1 | 1, label: string, glyph: string) => {
    const to = branch.ids[branch.index + by];
    return (
      <button
        type="button"
        className="button subtle icon"
        aria-label={label}
        disabled={off || to === undefined}
        onClick={() => to !== undefined && onSwitch?.(to)}
      >
        {glyph}
      </button>
    );
  };
  return (
    <span className="branch-switcher" role="group" aria-label="Versions" data-testid="branch-switcher">
      {step(-1, "Previous version", "‹")}
      <span className="branch-position" data-testid="branch-position">
        {branch.index + 1}/{branch.count}
      </span>
      {step(1, "Next version", "›")}
    </span>
  );
}
