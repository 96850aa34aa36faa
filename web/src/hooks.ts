import { useEffect, useState } from "react";

/** `value`, once it has stopped changing for `ms` (search boxes: one request per pause). */
export function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

/** While `open`, a mouse press outside `root` calls `onAway` (a menu closes). */
export function useClickAway(
  open: boolean,
  root: React.RefObject<HTMLElement | null>,
  onAway: () => void,
): void {
  useEffect(() => {
    if (!open) return;
    const away = (event: MouseEvent) => {
      if (!root.current?.contains(event.target as Node)) onAway();
    };
    document.addEventListener("mousedown", away);
    return () => document.removeEventListener("mousedown", away);
  }, [open, root, onAway]);
}
