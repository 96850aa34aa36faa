import { useId, useState, type DragEvent, type FormEvent, type KeyboardEvent } from "react";
import { AttachButton } from "../files/AttachButton";
import { FileChips } from "../files/FileChips";
import { useAttachments } from "../files/useAttachments";

interface Props {
  /** `fileIds`: the files attached (only given when there are some). */
  onSend: (content: string, fileIds?: string[]) => void;
  onStop?: (() => void) | undefined;
  running: boolean;
  disabled?: boolean;
  autoFocus?: boolean;
  /** Offer attaching files (the paperclip, and dropping files on the box). */
  files?: boolean;
}

/** Enter sends, Shift+Enter starts a new line; while a run goes, Send waits and Stop shows. */
export function Composer({ onSend, onStop, running, disabled = false, autoFocus = false, files = false }: Props) {
  const [text, setText] = useState("");
  const id = useId();
  const attachments = useAttachments();
  const canSend = !running && !disabled && !attachments.uploading && text.trim().length > 0;

  const submit = () => {
    if (!canSend) return;
    if (attachments.ids.length > 0) onSend(text.trim(), attachments.ids);
    else onSend(text.trim());
    setText("");
    attachments.clear();
  };
  const onDragOver = (event: DragEvent) => {
    if (files && event.dataTransfer.types.includes("Files")) event.preventDefault();
  };
  const onDrop = (event: DragEvent) => {
    if (!files || event.dataTransfer.files.length === 0) return;
    event.preventDefault();
    attachments.add(Array.from(event.dataTransfer.files));
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
    <form className="composer" onSubmit={onSubmit} onDragOver={onDragOver} onDrop={onDrop}>
      {files && <FileChips files={attachments.pending} onRemove={attachments.remove} />}
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
        {files && <AttachButton onFiles={attachments.add} disabled={disabled} />}
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
