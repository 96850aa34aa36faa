// Step-up: a sensitive change answered 401 `reauth_required` (its session signed in more than
// CONFIDE_REAUTH_WINDOW_SECONDS ago) asks for the password, a code or a passkey inline,
// re-authenticates and sends the change once more. One place does it for every call: the session's fetch
// (api/session.ts) waits on the handler StepUpHost registers.
import { useMutation, useQuery } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { errorMessage } from "../api/errors";
import { reauth } from "../api/mfa";
import { listPasskeys, PASSKEYS_KEY, passkeyErrorMessage, passkeysSupported, reauthWithPasskey } from "../api/passkeys";
import { session } from "../api/session";
import { Dialog } from "../components/Dialog";
import { ErrorAlert } from "../components/ErrorAlert";
import { Field } from "../components/Field";

/** Rendered once, at the app's root. */
export function StepUpHost() {
  const [waiting, setWaiting] = useState<((done: boolean) => void) | null>(null);
  useEffect(() => {
    session.setStepUp(() => new Promise<boolean>((resolve) => setWaiting(() => resolve)));
    return () => session.setStepUp(null);
  }, []);
  if (!waiting) return null;
  const finish = (done: boolean) => {
    waiting(done);
    setWaiting(null);
  };
  return <StepUpDialog onDone={() => finish(true)} onCancel={() => finish(false)} />;
}

function StepUpDialog({ onDone, onCancel }: { onDone: () => void; onCancel: () => void }) {
  const [useCode, setUseCode] = useState(false);
  const [value, setValue] = useState("");
  const confirm = useMutation({
    mutationFn: () => reauth(useCode ? { code: value.trim() } : { password: value }),
    onSuccess: onDone,
  });
  // Offered when this browser can use one and the account has one (the list needs no step-up).
  const supported = passkeysSupported();
  const passkeys = useQuery({ queryKey: PASSKEYS_KEY, queryFn: listPasskeys, enabled: supported });
  const withPasskey = useMutation({ mutationFn: reauthWithPasskey, onSuccess: onDone });
  const busy = confirm.isPending || withPasskey.isPending;
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    confirm.mutate();
  };
  return (
    <Dialog
      title="Confirm it's you"
      onClose={onCancel}
      actions={
        <>
          <button type="button" className="button subtle" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" form="step-up-form" className="button primary" disabled={busy || !value}>
            Confirm
          </button>
        </>
      }
    >
      <form id="step-up-form" onSubmit={onSubmit} className="stack" data-testid="step-up">
        <p className="muted">This change needs you to sign in again.</p>
        {confirm.isError && <ErrorAlert message={errorMessage(confirm.error)} />}
        {withPasskey.isError && <ErrorAlert message={passkeyErrorMessage(withPasskey.error)} />}
        {useCode ? (
          <Field
            label="Authentication code"
            type="text"
            value={value}
            onChange={setValue}
            autoComplete="one-time-code"
            inputMode="numeric"
          />
        ) : (
          <Field label="Password" type="password" value={value} onChange={setValue} autoComplete="current-password" />
        )}
        <button
          type="button"
          className="button subtle"
          onClick={() => {
            setUseCode((v) => !v);
            setValue("");
          }}
        >
          {useCode ? "Use my password instead" : "Use an authentication code instead"}
        </button>
        {supported && (passkeys.data?.length ?? 0) > 0 && (
          <button type="button" className="button subtle" disabled={busy} onClick={() => withPasskey.mutate()}>
            Use a passkey
          </button>
        )}
      </form>
    </Dialog>
  );
}
