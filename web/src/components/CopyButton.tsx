import { useEffect, useState } from "react";

/** Put `text` on the clipboard: the Clipboard API where the page may use it (a secure
 * context), else the selection of `fallback` (an input showing the same text) and
 * execCommand, which older and locked-down browsers still honour. */
export async function copyText(text: string, fallback?: HTMLInputElement | null): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Permission refused: try the selection below.
  }
  if (!fallback) return false;
  fallback.focus();
  fallback.select();
  try {
    return document.execCommand("copy");
  } catch {
    return false;
  }
}

/** A Copy button that says, for a moment and to screen readers too, whether it worked. */
export function CopyButton(props: {
  text: string;
  label?: string;
  /** The button's accessible name, when `label` alone is not enough to tell it apart. */
  ariaLabel?: string;
  className?: string;
  /** What a failed copy says (by default: select the link and copy it). */
  failedText?: string;
  fallback?: () => HTMLInputElement | null;
}) {
  const [result, setResult] = useState<"copied" | "failed" | null>(null);
  useEffect(() => {
    if (!result) return;
    const timer = setTimeout(() => setResult(null), 4000);
    return () => clearTimeout(timer);
  }, [result]);
  return (
    <>
      <button
        type="button"
        className={props.className ?? "button"}
        aria-label={props.ariaLabel}
        onClick={() =>
          void copyText(props.text, props.fallback?.()).then((ok) => setResult(ok ? "copied" : "failed"))
        }
      >
        {props.label ?? "Copy"}
      </button>
      <span role="status" className={result === "failed" ? "danger-text small" : "success small"}>
        {result === "copied"
          ? "Copied"
          : result === "failed"
            ? (props.failedText ?? "Copy failed: select the link and copy it")
            : ""}
      </span>
    </>
  );
}
