import { useId, useState, type FormEvent, type KeyboardEvent } from "react";

interface Props {
  onSend: (content: string) => void;
  onStop?: (() => void) | undefined;
  running: boolean;
  disabled?: boolean;
  autoFocus?: boolean;
}

/** Enter sends, Shift+Enter starts a new line; while a run goes, Send waits and Stop shows. */
export function Composer({ onSend, onStop, running, disabled = false, autoFocus = false }: Props) {
  const [text, setText] = useState("");
  const id = useId();
  const canSend = !running && !disabled && text.trim().length > 0;

  const submit = () => {
    if (!canSend) return;
    onSend(text.trim());
    setText("");
  };
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    submit();
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  };

  return (
    <form className="composer" onSubmit={onSubmit}>
      <label htmlFor={id} className="sr-only">
        Message
      </label>
      <textarea
        id={id}
        value={text}
        rows={2}
        placeholder="Message the agent (Enter sends, Shift+Enter for a new line)"
        autoFocus={autoFocus}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
      />
      <div className="composer-actions">
        {running && onStop && (
          <button type="button" className="button danger" onClick={onStop}>
            Stop
          </button>
        )}
        <button type="submit" className="button primary" disabled={!canSend}>
          Send
        </button>
      </div>
    </form>
  );
}
