import { formatBytes } from "../../api/files";
import type { PendingFile } from "./useAttachments";

interface Props {
  files: PendingFile[];
  onRemove: (key: string) => void;
}

/** The files being attached to the message being written: uploading, ready or refused. */
export function FileChips({ files, onRemove }: Props) {
  if (files.length === 0) return null;
  return (
    <ul className="file-chips" aria-label="Attached files">
      {files.map((file) => (
        <li key={file.key} className={`file-chip ${file.status}`} data-testid="pending-file">
          <span className="file-name">{file.name}</span>{" "}
          <span className="muted">
            {file.status === "uploading" ? "uploading…" : file.status === "failed" ? "" : formatBytes(file.size)}
          </span>
          {file.status === "failed" && (
            <span className="error" role="alert">
              {" "}
              {file.error}
            </span>
          )}
          <button
            type="button"
            className="button subtle small"
            aria-label={`Remove ${file.name}`}
            onClick={() => onRemove(file.key)}
          >
            ×
          </button>
        </li>
      ))}
    </ul>
  );
}
