import { useId, useState, type FormEvent, type KeyboardEvent } from "react";

/** A user message edited in place: Enter (or Save) sends the new version, Shift+Enter starts a
 * new line, Esc (or Cancel) leaves it as it was. */
export function MessageEditor({
  initial,
  onSave,
  onCancel,
}: {
  initial: string;
  onSave: (content: string) => void;
  onCancel: () => void;
}) {
  const [text, setText] = useState(initial);
  const id = useId();
  const canSave = text.trim().length > 0;
  const save = () => {
    if (canSave) onSave(text.trim());
  };
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    save();
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // Esc here closes the editor, nothing else
      onCancel();
    } else if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      save();
    }
  };
  return (
    <form className="message-editor" onSubmit={onSubmit}>
      <label htmlFor={id} className="sr-only">
        Edit your message
      </label>
      <textarea
        id={id}
        value={text}
        rows={Math.min(8, Math.max(2, text.split("\n").length))}
        autoFocus
        onFocus={(e) => e.currentTarget.setSelectionRange(e.currentTarget.value.length, e.currentTarget.value.length)}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
      />
      <div className="message-editor-actions">
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="button primary" disabled={!canSave}>
          Save
        </button>
      </div>
    </form>
  );
}
