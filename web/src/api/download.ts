// A file the server sent as an attachment, handed to the browser as a download.

/** Save `data` under the response's Content-Disposition filename (else `fallback`); the name. */
export function saveDownload(response: Response, data: Blob, fallback: string): string {
  const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") ?? "")?.[1];
  const filename = name ?? fallback;
  const url = URL.createObjectURL(data);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  // Not at once: some browsers read the object URL only after the click's event has run.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return filename;
}
