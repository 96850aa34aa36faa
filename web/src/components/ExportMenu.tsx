// The thread page's "Export" menu: the active path as Markdown to read, or every branch as
// JSON (Confide's format, which an import turns back into the same tree).
import { exportThread } from "../api/imports";
import { DownloadButton } from "./DownloadButton";

export function ExportMenu({ threadId }: { threadId: string }) {
  return (
    <details className="export-menu">
      <summary className="button subtle">Export</summary>
      <div className="export-menu-items stack" role="group" aria-label="Export this thread">
        <DownloadButton label="Markdown (.md)" download={() => exportThread(threadId, "md")} />
        <DownloadButton label="JSON, every branch (.json)" download={() => exportThread(threadId, "json")} />
      </div>
    </details>
  );
}
