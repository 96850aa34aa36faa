import { useMutation } from "@tanstack/react-query";
import { errorMessage } from "../api/errors";
import { ErrorAlert } from "./ErrorAlert";

/** A button that fetches a file and saves it (`download` resolves to the file's name), with
 * what happened announced under it. */
export function DownloadButton(props: { label: string; download: () => Promise<string> }) {
  const download = useMutation({ mutationFn: props.download });
  return (
    <>
      {download.isError && <ErrorAlert message={errorMessage(download.error)} />}
      <p role="status" className="success">
        {download.isSuccess ? `Downloaded ${download.data}.` : ""}
      </p>
      <div>
        <button type="button" className="button" disabled={download.isPending} onClick={() => download.mutate()}>
          {download.isPending ? "Preparing…" : props.label}
        </button>
      </div>
    </>
  );
}
