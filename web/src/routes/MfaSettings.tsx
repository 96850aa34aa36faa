// Account page: two-factor authentication (an authenticator app and backup codes).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { errorMessage } from "../api/errors";
import {
  confirmTotp,
  disableTotp,
  mfaStatus,
  regenerateBackupCodes,
  startTotp,
  type TotpEnrolment,
} from "../api/mfa";
import { CopyButton } from "../components/CopyButton";
import { ErrorAlert } from "../components/ErrorAlert";
import { Field } from "../components/Field";
import { refetchFresh } from "../api/refetch";

const MFA_KEY = ["mfa"] as const;

/** The QR code as an image: the SVG never becomes part of the page's markup. */
function qrSource(svg: string): string {
  return `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(svg)))}`;
}

function shown(error: unknown): string | null {
  return error ? errorMessage(error) : null;
}

export function MfaSettings() {
  const queryClient = useQueryClient();
  const status = useQuery({ queryKey: MFA_KEY, queryFn: mfaStatus });
  const [enrolment, setEnrolment] = useState<TotpEnrolment | null>(null);
  const [code, setCode] = useState("");
  const [codes, setCodes] = useState<string[] | null>(null);
  const refresh = () => refetchFresh(queryClient, MFA_KEY);

  const start = useMutation({ mutationFn: startTotp, onSuccess: setEnrolment });
  const confirm = useMutation({
    mutationFn: () => confirmTotp(code.trim()),
    onSuccess: (backup) => {
      setEnrolment(null);
      setCode("");
      setCodes(backup);
      void refresh();
    },
  });
  const regenerate = useMutation({
    mutationFn: regenerateBackupCodes,
    onSuccess: (backup) => {
      setCodes(backup);
      void refresh();
    },
  });
  const disable = useMutation({ mutationFn: disableTotp, onSuccess: () => void refresh() });
  const error = shown(start.error) ?? shown(confirm.error) ?? shown(regenerate.error) ?? shown(disable.error);

  const onConfirm = (event: FormEvent) => {
    event.preventDefault();
    confirm.mutate();
  };

  return (
    <section className="card" aria-labelledby="mfa-heading">
      <h2 id="mfa-heading">Two-factor authentication</h2>
      {error && <ErrorAlert message={error} />}
      {codes && (
        <div className="notice-box stack" data-testid="backup-codes">
          <p>
            <strong>Your backup codes.</strong> Each signs you in once if you lose your phone. Keep them
            somewhere safe: they are shown only now.
          </p>
          <ol className="backup-codes">
            {codes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ol>
          <div className="copy-row">
            <CopyButton text={codes.join("\n")} label="Copy the codes" />
            <a
              className="button subtle"
              download="confide-backup-codes.txt"
              href={`data:text/plain;charset=utf-8,${encodeURIComponent(codes.join("\n") + "\n")}`}
            >
              Download
            </a>
            <button type="button" className="button primary" onClick={() => setCodes(null)}>
              I have saved them
            </button>
          </div>
        </div>
      )}
      {status.data?.enabled ? (
        <div className="stack">
          <p data-testid="mfa-on">
            On: sign-ins ask for a code from your authenticator app.{" "}
            {status.data.backup_codes_remaining} backup codes left.
          </p>
          <div className="copy-row">
            <button
              type="button"
              className="button subtle"
              disabled={regenerate.isPending}
              onClick={() => regenerate.mutate()}
            >
              New backup codes
            </button>
            <button
              type="button"
              className="button danger"
              disabled={disable.isPending}
              onClick={() => disable.mutate()}
            >
              Turn off two-factor authentication
            </button>
          </div>
        </div>
      ) : enrolment ? (
        <form onSubmit={onConfirm} className="stack" data-testid="mfa-enrolment">
          <p>
            Scan this code with an authenticator app (or type the key into it), then enter the 6-digit
            code it shows.
          </p>
          <img className="qr" src={qrSource(enrolment.qr_svg)} alt="QR code for your authenticator app" />
          <p>
            Key: <code data-testid="totp-secret">{enrolment.secret}</code>
          </p>
          <Field
            label="Code from the app"
            type="text"
            value={code}
            onChange={setCode}
            autoComplete="one-time-code"
            inputMode="numeric"
          />
          <div>
            <button type="submit" className="button primary" disabled={confirm.isPending || !code.trim()}>
              Turn on
            </button>
          </div>
        </form>
      ) : (
        status.data && (
          <div className="stack">
            <p className="muted">Off. A second step at sign-in keeps your account safe even if your password leaks.</p>
            <div>
              <button type="button" className="button primary" disabled={start.isPending} onClick={() => start.mutate()}>
                Set up an authenticator app
              </button>
            </div>
          </div>
        )
      )}
    </section>
  );
}
