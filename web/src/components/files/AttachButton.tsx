import { useId, useRef } from "react";

interface Props {
  onFiles: (files: File[]) => void;
  disabled?: boolean;
}

/** A button that opens the file picker (several files at once); keyboard-reachable. */
export function AttachButton({ onFiles, disabled = false }: Props) {
  const input = useRef<HTMLInputElement>(null);
  const id = useId();
  return (
    <>
      <input
        id={id}
        ref={input}
        type="file"
        multiple
        hidden
        data-testid="attach-input"
        accept=".txt,.md,.markdown,.csv,.json,.py,.ts,.tsx,.js,.html,.css,.xml,.yaml,.yml,.toml,.sql,.sh,.log,text/*,application/pdf,image/png,image/jpeg,image/gif,image/webp"
        onChange={(event) => {
          const files = Array.from(event.target.files ?? []);
          event.target.value = ""; // the same file may be picked again
          if (files.length) onFiles(files);
        }}
      />
      <button
        type="button"
        className="button subtle attach-button"
        aria-label="Attach files"
        title="Attach files (or drop them on the message box)"
        disabled={disabled}
        onClick={() => input.current?.click()}
      >
        📎
      </button>
    </>
  );
}
