// Account page: passkeys (add on this device with a name, rename, delete), and the login
// page's "Sign in with a passkey" button.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { errorMessage } from "../api/errors";
import {
  addPasskey,
  deletePasskey,
  listPasskeys,
  PASSKEYS_KEY,
  passkeyErrorMessage,
  passkeysSupported,
  renamePasskey,
  signInWithPasskey,
  type Passkey,
} from "../api/passkeys";
import { ErrorAlert } from "../components/ErrorAlert";
import { Field } from "../components/Field";
import { when } from "../format";
import { refetchFresh } from "../api/refetch";

function shown(error: unknown): string | null {
  return error ? passkeyErrorMessage(error) : null;
}

export function PasskeySettings() {
  const queryClient = useQueryClient();
  const passkeys = useQuery({ queryKey: PASSKEYS_KEY, queryFn: listPasskeys });
  const [name, setName] = useState("");
  const refresh = () => refetchFresh(queryClient, PASSKEYS_KEY);
  const add = useMutation({
    mutationFn: () => addPasskey(name),
    onSuccess: () => {
      setName("");
      void refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => deletePasskey(id),
    onSuccess: () => void refresh(),
  });
  const error = shown(add.error) ?? shown(remove.error);
  const onAdd = (event: FormEvent) => {
    event.preventDefault();
    add.mutate();
  };
  return (
    <section className="card" aria-labelledby="passkeys-heading">
      <h2 id="passkeys-heading">Passkeys</h2>
      <p className="muted">
        Sign in with your fingerprint, face or device PIN instead of a password. A passkey also counts as
        the second step after a password.
      </p>
      {error && <ErrorAlert message={error} />}
      {passkeys.isError && <ErrorAlert message={errorMessage(passkeys.error)} onRetry={() => void passkeys.refetch()} />}
      {passkeys.isSuccess && passkeys.data.length === 0 && <p className="muted">No passkeys yet.</p>}
      <ul role="list" aria-label="Passkeys" className="session-list">
        {passkeys.data?.map((passkey) => (
          <PasskeyRow
            key={passkey.id}
            passkey={passkey}
            deleting={remove.isPending}
            onDelete={() => remove.mutate(passkey.id)}
            onRenamed={() => void refresh()}
          />
        ))}
      </ul>
      {passkeysSupported() ? (
        <form onSubmit={onAdd} className="stack" data-testid="passkey-add">
          <Field
            label="Passkey name"
            type="text"
            value={name}
            onChange={setName}
            autoComplete="off"
            required={false}
            hint="For example: Work laptop"
          />
          <div>
            <button type="submit" className="button primary" disabled={add.isPending}>
              Add a passkey
            </button>
          </div>
        </form>
      ) : (
        <p className="muted">This browser does not support passkeys.</p>
      )}
    </section>
  );
}

function PasskeyRow({
  passkey,
  deleting,
  onDelete,
  onRenamed,
}: {
  passkey: Passkey;
  deleting: boolean;
  onDelete: () => void;
  onRenamed: () => void;
}) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(passkey.name);
  const rename = useMutation({
    mutationFn: () => renamePasskey(passkey.id, name.trim()),
    onSuccess: () => {
      setEditing(false);
      onRenamed();
    },
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    rename.mutate();
  };
  return (
    <li className="session-row" data-testid="passkey">
      {editing ? (
        <form onSubmit={onSubmit} className="stack">
          {rename.isError && <ErrorAlert message={errorMessage(rename.error)} />}
          <Field label="New name" type="text" value={name} onChange={setName} autoComplete="off" />
          <div className="copy-row">
            <button type="submit" className="button primary" disabled={rename.isPending || !name.trim()}>
              Save
            </button>
            <button type="button" className="button subtle" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <>
          <div className="session-info">
            <p className="session-label">{passkey.name}</p>
            <p className="muted small">
              added {when(passkey.created_at)} · {passkey.last_used_at ? `last used ${when(passkey.last_used_at)}` : "never used"}
            </p>
          </div>
          <div className="copy-row">
            <button type="button" className="button subtle" onClick={() => setEditing(true)}>
              Rename
            </button>
            <button type="button" className="button danger" disabled={deleting} onClick={onDelete}>
              Delete
            </button>
          </div>
        </>
      )}
    </li>
  );
}

/** The login page's button: a passkey alone signs in (it verifies the user itself). Its label
 * does not contain "Sign in", so the password form's "Sign in" button stays one match for a
 * role-and-name lookup (the browser tests find it by a substring of its name). */
export function PasskeySignInButton({ onSignedIn }: { onSignedIn: () => Promise<void> }) {
  const signIn = useMutation({
    mutationFn: async () => {
      await signInWithPasskey();
      await onSignedIn();
    },
  });
  if (!passkeysSupported()) return null;
  return (
    <div className="stack">
      {signIn.isError && <ErrorAlert message={shown(signIn.error) ?? ""} />}
      <button type="button" className="button subtle wide" disabled={signIn.isPending} onClick={() => signIn.mutate()}>
        Continue with a passkey
      </button>
    </div>
  );
}
