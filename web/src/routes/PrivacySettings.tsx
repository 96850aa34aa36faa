// Settings, "Your data": download everything as a file, how long idle threads are kept, and
// deleting the account (a confirmation typed in a dialog; a stale sign-in gets the step-up
// prompt from the session's fetch, as every sensitive change does).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { ApiError, errorMessage } from "../api/errors";
import { deleteMyAccount, downloadExport, getSettings, SETTINGS_KEY, updateSettings } from "../api/privacy";
import { forgetUser } from "../auth/signedOut";
import { useMe } from "../auth/useMe";
import { Dialog } from "../components/Dialog";
import { DownloadButton } from "../components/DownloadButton";
import { ErrorAlert } from "../components/ErrorAlert";
import { Field } from "../components/Field";

export function PrivacySettings() {
  return (
    <section className="card" aria-labelledby="privacy-heading">
      <h2 id="privacy-heading">Your data</h2>
      <ExportData />
      <Retention />
      <DeleteAccount />
    </section>
  );
}

function ExportData() {
  return (
    <div className="stack">
      <h3>Download my data</h3>
      <p className="muted">
        Your profile, settings, every conversation with its messages, memories, sessions, your account activity
        and shares, as one JSON file.
      </p>
      <DownloadButton label="Download my data" download={downloadExport} />
    </div>
  );
}

function Retention() {
  const queryClient = useQueryClient();
  const settings = useQuery({ queryKey: SETTINGS_KEY, queryFn: getSettings });
  const stored = settings.data?.retention_days ?? null;
  const [days, setDays] = useState("");
  const [saved, setSaved] = useState(false);
  useEffect(() => setDays(stored === null ? "" : String(stored)), [stored]);
  const save = useMutation({
    mutationFn: (value: number | null) => updateSettings({ retention_days: value }),
    onSuccess: (updated) => {
      queryClient.setQueryData(SETTINGS_KEY, updated);
      setSaved(true);
    },
  });
  const trimmed = days.trim();
  const value = trimmed === "" ? null : Number(trimmed);
  const valid = value === null || (Number.isInteger(value) && value >= 1 && value <= 36500);
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    if (valid) save.mutate(value);
  };
  return (
    <form className="stack" onSubmit={onSubmit} aria-label="Keep conversations">
      <h3>Keep conversations</h3>
      {settings.isError && (
        <ErrorAlert message={errorMessage(settings.error)} onRetry={() => void settings.refetch()} />
      )}
      <Field
        label="Delete conversations untouched for this many days"
        type="text"
        inputMode="numeric"
        autoComplete="off"
        required={false}
        value={days}
        onChange={(next) => {
          setSaved(false);
          setDays(next);
        }}
        hint="Leave empty to keep them (unless the server deletes older ones). Checked once a day."
      />
      {!valid && <ErrorAlert message="Enter a whole number of days from 1 to 36500, or leave it empty." />}
      {save.isError && <ErrorAlert message={errorMessage(save.error)} />}
      <p role="status" className="success">
        {saved ? (value === null ? "Conversations are kept." : `Conversations untouched for ${value} days are deleted.`) : ""}
      </p>
      <div>
        <button
          type="submit"
          className="button"
          disabled={!settings.isSuccess || !valid || save.isPending || value === stored}
        >
          Save
        </button>
      </div>
    </form>
  );
}

function DeleteAccount() {
  const me = useMe();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState("");
  const email = me.data?.email ?? "";
  const remove = useMutation({
    mutationFn: () => deleteMyAccount(typed.trim()),
    onSuccess: () => {
      forgetUser(queryClient, { explicit: true });
      void navigate("/login", { replace: true });
    },
  });
  const matches = typed.trim().toLowerCase() === email.toLowerCase() && email !== "";
  const close = () => {
    setOpen(false);
    setTyped("");
    remove.reset();
  };
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (matches) remove.mutate();
  };
  const message =
    remove.error instanceof ApiError && remove.error.code === "last_admin"
      ? "You are the only administrator: make someone else an administrator first."
      : errorMessage(remove.error);
  return (
    <div className="stack">
      <h3>Delete my account</h3>
      <p className="muted">
        Your account and everything in it are deleted for good: conversations, memories, settings and sessions.
        This cannot be undone.
      </p>
      <div>
        <button type="button" className="button danger" onClick={() => setOpen(true)}>
          Delete my account
        </button>
      </div>
      {open && (
        <Dialog
          title="Delete your account?"
          onClose={close}
          actions={
            <>
              <button
                type="submit"
                form="delete-account-form"
                className="button danger"
                disabled={!matches || remove.isPending}
              >
                Delete my account for good
              </button>
              <button type="button" className="button" data-autofocus onClick={close}>
                Cancel
              </button>
            </>
          }
        >
          <form id="delete-account-form" className="stack" onSubmit={onSubmit}>
            <p>
              Everything is deleted at once and cannot be recovered, by you or an administrator. Download your data
              first if you want to keep it.
            </p>
            <Field label={`Type ${email} to confirm`} type="email" value={typed} onChange={setTyped} autoComplete="off" />
            {remove.isError && <ErrorAlert message={message} />}
          </form>
        </Dialog>
      )}
    </div>
  );
}
