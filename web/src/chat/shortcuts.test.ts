import { describe, expect, it } from "vitest";
import { isTyping, shortcutFor, type KeyPress } from "./shortcuts";

function press(key: string, extra: Partial<KeyPress> = {}): KeyPress {
  return { key, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, isComposing: false, target: document.body, ...extra };
}

describe("keyboard shortcuts", () => {
  const textarea = document.createElement("textarea");
  const input = document.createElement("input");
  const checkbox = Object.assign(document.createElement("input"), { type: "checkbox" });

  it("maps Ctrl (⌘ on a Mac) combinations, wherever the focus is", () => {
    expect(shortcutFor(press("O", { ctrlKey: true, shiftKey: true }), false)).toBe("new-chat");
    expect(shortcutFor(press("O", { metaKey: true, shiftKey: true }), true)).toBe("new-chat");
    expect(shortcutFor(press("k", { ctrlKey: true, target: textarea }), false)).toBe("search");
    expect(shortcutFor(press("/", { ctrlKey: true, target: input }), false)).toBe("help");
    expect(shortcutFor(press("Escape", { shiftKey: true, target: input }), false)).toBe("focus-composer");
  });

  it("takes the other platform's modifier, or an extra one, for nothing", () => {
    expect(shortcutFor(press("k", { metaKey: true }), false)).toBeNull();
    expect(shortcutFor(press("k", { ctrlKey: true }), true)).toBeNull();
    expect(shortcutFor(press("k", { ctrlKey: true, altKey: true }), false)).toBeNull();
    expect(shortcutFor(press("k", { ctrlKey: true, shiftKey: true }), false)).toBeNull();
    expect(shortcutFor(press("o", { ctrlKey: true }), false)).toBeNull(); // the browser's "open file"
    expect(shortcutFor(press("k", { ctrlKey: true, isComposing: true }), false)).toBeNull();
    expect(shortcutFor(press("Escape"), false)).toBeNull();
  });

  it("a bare ? opens the help outside text fields only", () => {
    expect(shortcutFor(press("?", { shiftKey: true }), false)).toBe("help");
    expect(shortcutFor(press("?", { shiftKey: true, target: checkbox }), false)).toBe("help");
    expect(shortcutFor(press("?", { shiftKey: true, target: textarea }), false)).toBeNull();
    expect(shortcutFor(press("?", { shiftKey: true, target: input }), false)).toBeNull();
    expect(shortcutFor(press("k"), false)).toBeNull();
  });

  it("knows what typing is", () => {
    const editable = document.createElement("div");
    editable.contentEditable = "true";
    Object.defineProperty(editable, "isContentEditable", { value: true });
    expect([textarea, input, editable].map(isTyping)).toEqual([true, true, true]);
    expect([checkbox, document.body, null].map(isTyping)).toEqual([false, false, false]);
  });
});
