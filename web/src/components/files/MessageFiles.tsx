import { useState } from "react";
import { downloadFile, formatBytes, type FileRef } from "../../api/files";
import { errorMessage } from "../../api/errors";

/** The files attached to a message: name, size, a download (the owner's only: anyone else
 * reading a shared thread gets a 404, said here), and whether the model saw all of it. */
export function MessageFiles({ files }: { files: FileRef[] }) {
  if (files.length === 0) return null;
  return (
    <ul className="message-files" aria-label="Files">
      {files.map((file) => (
        <MessageFile key={file.id} file={file} />
      ))}
    </ul>
  );
}

function MessageFile({ file }: { file: FileRef }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const download = () => {
    setBusy(true);
    setError(null);
    downloadFile(file.id, file.name)
      .catch((failure: unknown) => setError(errorMessage(failure)))
      .finally(() => setBusy(false));
  };
  return (
    <li className="file-chip" data-testid="message-file">
      <span className="file-name">{file.name}</span> <span className="muted">{formatBytes(file.size)}</span>
      {file.truncated && (
        <span className="muted" title="The file was longer than the model's budget for files: it saw the beginning.">
          {" "}
          (partly read)
        </span>
      )}
      {file.deleted ? (
        <span className="muted"> (deleted)</span>
      ) : (
        <button
          type="button"
          className="button subtle small"
          aria-label={`Download ${file.name}`}
          disabled={busy}
          onClick={download}
        >
          Download
        </button>
      )}
      {error && (
        <span className="error" role="alert">
          {" "}
          {error}
        </span>
      )}
    </li>
  );
}
