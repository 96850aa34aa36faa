// The app's keyboard shortcuts: which key press means what. Pure, so the rules (a modifier
// combination works anywhere; a bare key never fires while the user types) are tested alone.

export type ShortcutAction = "new-chat" | "search" | "focus-composer" | "help";

export interface Shortcut {
  action: ShortcutAction;
  /** The keys as the help dialog shows them ("Mod" is Ctrl, or ⌘ on a Mac). */
  keys: string[];
  description: string;
}

export const SHORTCUTS: Shortcut[] = [
  { action: "new-chat", keys: ["Mod", "Shift", "O"], description: "New chat" },
  { action: "search", keys: ["Mod", "K"], description: "Search conversations" },
  { action: "focus-composer", keys: ["Shift", "Esc"], description: "Write a message (focus the composer)" },
  { action: "help", keys: ["Mod", "/"], description: "Show the keyboard shortcuts (or ? outside a text field)" },
];

export type KeyPress = Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey" | "shiftKey" | "altKey" | "isComposing"> & {
  target: EventTarget | null;
};

/** Where a bare key is text being typed, not a command. */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag !== "INPUT") return false;
  const type = (target as HTMLInputElement).type;
  return !["button", "checkbox", "radio", "submit", "reset", "range", "color", "file"].includes(type);
}

/** The shortcut a key press means, or null. `mac`: ⌘ is the modifier (else Ctrl). */
export function shortcutFor(event: KeyPress, mac: boolean): ShortcutAction | null {
  if (event.isComposing || event.altKey) return null;
  const mod = mac ? event.metaKey && !event.ctrlKey : event.ctrlKey && !event.metaKey;
  const key = event.key.toLowerCase();
  if (mod) {
    if (event.shiftKey && key === "o") return "new-chat";
    if (!event.shiftKey && key === "k") return "search";
    if (key === "/") return "help";
    return null;
  }
  if (event.ctrlKey || event.metaKey) return null;
  if (event.shiftKey && event.key === "Escape") return "focus-composer";
  if (event.key === "?" && !isTyping(event.target)) return "help";
  return null;
}

/** ⌘ rather than Ctrl: the platform is a Mac (or an iPad with a keyboard). */
export function isMac(): boolean {
  const platform =
    (navigator as Navigator & { userAgentData?: { platform?: string } }).userAgentData?.platform ??
    navigator.platform ??
    "";
  return /mac|iphone|ipad/i.test(platform);
}

/** How "Mod" reads on this platform. */
export function keyLabel(key: string, mac: boolean): string {
  if (key === "Mod") return mac ? "⌘" : "Ctrl";
  return key;
}
