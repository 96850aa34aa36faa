// Account page: the phone number (add it, enter the texted code, change or remove it). A
// verified number can get sign-in codes by SMS; it is never the second factor on its own.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { errorMessage } from "../api/errors";
import { getPhone, removePhone, setPhone, verifyPhone } from "../api/phone";
import { refetchFresh } from "../api/refetch";
import { keys } from "../api/threads";
import { ErrorAlert } from "../components/ErrorAlert";
import { Field } from "../components/Field";
import { when } from "../format";

const PHONE_KEY = ["phone"] as const;

function shown(error: unknown): string | null {
  return error ? errorMessage(error) : null;
}

export function PhoneSettings() {
  const queryClient = useQueryClient();
  const phone = useQuery({ queryKey: PHONE_KEY, queryFn: getPhone });
  const [number, setNumber] = useState("");
  const [code, setCode] = useState("");
  const [changing, setChanging] = useState(false);
  const refresh = () => {
    void refetchFresh(queryClient, PHONE_KEY);
    void refetchFresh(queryClient, keys.accountEvents);
  };
  const save = useMutation({
    mutationFn: (value: string) => setPhone(value),
    onSuccess: () => {
      setNumber("");
      setCode("");
      setChanging(false);
      verify.reset();
      refresh();
    },
  });
  const verify = useMutation({
    mutationFn: () => verifyPhone(code.trim()),
    onSuccess: () => {
      setCode("");
      refresh();
    },
    onError: () => setCode(""),
  });
  const remove = useMutation({
    mutationFn: removePhone,
    onSuccess: () => {
      setChanging(false);
      refresh();
    },
  });
  const error = shown(save.error) ?? shown(verify.error) ?? shown(remove.error);
  const current = phone.data ?? null;

  const onSave = (event: FormEvent) => {
    event.preventDefault();
    save.mutate(number.trim());
  };
  const onVerify = (event: FormEvent) => {
    event.preventDefault();
    verify.mutate();
  };

  return (
    <section className="card" aria-labelledby="phone-heading">
      <h2 id="phone-heading">Phone number</h2>
      <p className="muted">
        A verified number can get sign-in codes by text message. It is a fallback: a text can be
        intercepted (a SIM swap), so it never replaces your authenticator app or a passkey.
      </p>
      {error && <ErrorAlert message={error} />}
      {phone.isError && <ErrorAlert message={errorMessage(phone.error)} onRetry={() => void phone.refetch()} />}
      {current && (
        <div className="session-row" data-testid="phone">
          <div className="session-info">
            <p className="session-label">{current.number}</p>
            <p className="muted small" data-testid="phone-state">
              {current.verified_at ? `Verified ${when(current.verified_at)}` : "Not verified yet"}
            </p>
          </div>
          <div className="copy-row">
            {!changing && (
              <button type="button" className="button subtle" onClick={() => setChanging(true)}>
                Change number
              </button>
            )}
            <button
              type="button"
              className="button danger"
              disabled={remove.isPending}
              onClick={() => remove.mutate()}
            >
              Remove phone number
            </button>
          </div>
        </div>
      )}
      {current && !current.verified && (
        <form onSubmit={onVerify} className="stack" data-testid="phone-verify">
          <Field
            label="Code from the text message"
            type="text"
            value={code}
            onChange={setCode}
            autoComplete="one-time-code"
            inputMode="numeric"
            hint="We texted a 6-digit code to this number. It works for 5 minutes."
          />
          <div className="copy-row">
            <button type="submit" className="button primary" disabled={verify.isPending || !code.trim()}>
              Verify number
            </button>
            <button
              type="button"
              className="button subtle"
              disabled={save.isPending}
              onClick={() => save.mutate(current.number)}
            >
              Text me a new code
            </button>
          </div>
        </form>
      )}
      {phone.isSuccess && (!current || changing) && (
        <form onSubmit={onSave} className="stack" data-testid="phone-add">
          <Field
            label={current ? "New phone number" : "Phone number"}
            type="tel"
            value={number}
            onChange={setNumber}
            autoComplete="tel"
            hint="In international form, for example +44 20 7946 0958"
          />
          <div className="copy-row">
            <button type="submit" className="button primary" disabled={save.isPending || !number.trim()}>
              {current ? "Save number" : "Add phone number"}
            </button>
            {changing && (
              <button type="button" className="button subtle" onClick={() => setChanging(false)}>
                Cancel
              </button>
            )}
          </div>
        </form>
      )}
    </section>
  );
}
