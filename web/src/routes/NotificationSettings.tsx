// Settings, "Notifications": where you are told that an agent waits for your approval or
// answer. The web app always shows it; email and Slack are tried in the order chosen here,
// the next one when one cannot deliver.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useState, type FormEvent } from "react";
import { CHANNELS_KEY, getChannels, updateChannels, type ChannelName, type Channels } from "../api/channels";
import { errorMessage } from "../api/errors";
import { ErrorAlert } from "../components/ErrorAlert";

const LABEL: Record<ChannelName, string> = { email: "Email", slack: "Slack" };
// Slack member ids: U or W, then letters and digits (U0123ABCD).
const SLACK_ID = /^[UW][A-Z0-9]{2,30}$/;

interface Draft {
  email: boolean;
  slack: boolean;
  first: ChannelName;
  slackId: string;
}

function draftOf(channels: Channels): Draft {
  return {
    email: channels.order.includes("email"),
    slack: channels.order.includes("slack"),
    first: channels.order[0] ?? "email",
    slackId: channels.slack_user_id ?? "",
  };
}

/** The channels chosen, in the order they are tried. */
export function orderOf(draft: Pick<Draft, "email" | "slack" | "first">): ChannelName[] {
  const chosen = (["email", "slack"] as const).filter((name) => draft[name]);
  return [...chosen].sort((a, b) => (a === draft.first ? -1 : b === draft.first ? 1 : 0));
}

export function NotificationSettings() {
  const ids = useId();
  const queryClient = useQueryClient();
  const channels = useQuery({ queryKey: CHANNELS_KEY, queryFn: getChannels });
  const [draft, setDraft] = useState<Draft | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (channels.data) setDraft(draftOf(channels.data));
  }, [channels.data]);
  const save = useMutation({
    mutationFn: (current: Draft) =>
      updateChannels({
        order: orderOf(current),
        slack_user_id: current.slackId.trim() ? current.slackId.trim().toUpperCase() : null,
      }),
    onSuccess: (updated) => {
      queryClient.setQueryData(CHANNELS_KEY, updated);
      setSaved(true);
    },
  });
  const change = (patch: Partial<Draft>) => {
    setSaved(false);
    setDraft((d) => (d ? { ...d, ...patch } : d));
  };
  const data = channels.data;
  const slackId = draft?.slackId.trim().toUpperCase() ?? "";
  const slackIdMissing = draft?.slack === true && slackId === "";
  const slackIdInvalid = slackId !== "" && !SLACK_ID.test(slackId);
  const valid = !slackIdMissing && !slackIdInvalid;
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    if (draft && valid) save.mutate(draft);
  };
  const order = draft ? orderOf(draft) : [];

  return (
    <section className="card" aria-labelledby={`${ids}-heading`} id="notifications">
      <h2 id={`${ids}-heading`}>Notifications</h2>
      <p className="muted">
        When an agent waits for your approval or asks you something, this app shows it. It can also tell you on the
        channels below, tried in this order: when one cannot deliver, the next one is used. Answer on any of them; the
        others then show it as answered.
      </p>
      {channels.isError && (
        <ErrorAlert message={errorMessage(channels.error)} onRetry={() => void channels.refetch()} />
      )}
      {data && draft && (
        <form className="stack" onSubmit={onSubmit} aria-label="Notification channels">
          <fieldset className="checkbox-list">
            <legend>Tell me by</legend>
            <label className="checkbox">
              <input
                type="checkbox"
                checked={draft.email}
                disabled={!data.email_available && !draft.email}
                onChange={(e) => change({ email: e.target.checked })}
              />
              <span>
                Email
                {!data.email_available && <span className="muted small"> (verify your email address first)</span>}
              </span>
            </label>
            <label className="checkbox">
              <input
                type="checkbox"
                checked={draft.slack}
                disabled={!data.slack_available && !draft.slack}
                onChange={(e) => change({ slack: e.target.checked })}
              />
              <span>
                Slack
                {!data.slack_available && <span className="muted small"> (this server has no Slack app)</span>}
              </span>
            </label>
          </fieldset>
          {draft.email && draft.slack && (
            <div className="field">
              <label htmlFor={`${ids}-first`}>Try first</label>
              <select
                id={`${ids}-first`}
                value={draft.first}
                onChange={(e) => change({ first: e.target.value as ChannelName })}
              >
                <option value="email">Email, then Slack</option>
                <option value="slack">Slack, then email</option>
              </select>
            </div>
          )}
          {(draft.slack || draft.slackId) && (
            <div className="field">
              <label htmlFor={`${ids}-slack`}>Slack member id</label>
              <input
                id={`${ids}-slack`}
                value={draft.slackId}
                autoComplete="off"
                spellCheck={false}
                maxLength={32}
                placeholder="U0123ABCD"
                aria-invalid={slackIdMissing || slackIdInvalid ? true : undefined}
                aria-describedby={`${ids}-slack-hint`}
                onChange={(e) => change({ slackId: e.target.value })}
              />
              <p id={`${ids}-slack-hint`} className="hint">
                In Slack: your profile, ⋮, “Copy member ID”.
              </p>
            </div>
          )}
          {slackIdMissing && <p className="error-text">Slack needs your member id.</p>}
          {slackIdInvalid && <p className="error-text">A Slack member id looks like U0123ABCD.</p>}
          {save.isError && <ErrorAlert message={errorMessage(save.error)} />}
          <p role="status" className="success">
            {saved
              ? order.length === 0
                ? "Saved: you are told in this app only."
                : `Saved: ${order.map((name) => LABEL[name]).join(", then ")}, and this app.`
              : ""}
          </p>
          <div>
            <button type="submit" className="button" disabled={!valid || save.isPending}>
              Save
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
