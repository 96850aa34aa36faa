// A run waiting on its user before a tool call: approve (the arguments may be edited first) or
// deny (with an optional reason); or an agent's question (`ask_user`): a choice or an answer.
// Answered, the card says how and where (in the app, by email, in Slack, the time-out).
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import {
  approvalKeys,
  decideApproval,
  outcomeText,
  parseArguments,
  sameJson,
  type Approval,
  type Decision,
} from "../../api/approvals";
import { ApiError, errorMessage } from "../../api/errors";
import { refetchFresh } from "../../api/refetch";
import { prettyJson, when } from "../../format";
import { ErrorAlert } from "../ErrorAlert";

interface Props {
  approval: Approval;
  /** The answer the server stored (the conversation resumes the run from it). */
  onDecided?: ((approval: Approval) => void) | undefined;
  /** Someone else's conversation: what was asked, no buttons. */
  readOnly?: boolean;
}

export function ApprovalCard({ approval, onDecided, readOnly = false }: Props) {
  const pending = approval.status === "pending" && !readOnly;
  return (
    <section
      className={`approval-card${pending ? " approval-pending" : ""}`}
      data-testid="approval-card"
      data-status={approval.status}
      data-kind={approval.kind}
      aria-label={
        !pending
          ? `${approval.tool}: ${outcomeText(approval)}`
          : approval.kind === "question"
            ? "Question from the assistant"
            : `Approve ${approval.tool}?`
      }
    >
      {pending ? (
        approval.kind === "question" ? (
          <QuestionForm approval={approval} onDecided={onDecided} />
        ) : (
          <ApprovalForm approval={approval} onDecided={onDecided} />
        )
      ) : (
        <Outcome approval={approval} />
      )}
    </section>
  );
}

function ToolHeading({ approval }: { approval: Approval }) {
  return (
    <p className="approval-title">
      {approval.kind === "question" ? (
        <strong>The assistant asks you</strong>
      ) : (
        <>
          <strong>Approve this tool call?</strong> <span className="tool-name">{approval.tool}</span>
          {approval.server_id && <span className="muted small"> (MCP server {approval.server_id})</span>}
        </>
      )}
    </p>
  );
}

/** The decision, sent once; "already answered" (on another channel) reloads the approvals. */
function useDecision(approval: Approval, onDecided: Props["onDecided"]) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (decision: Decision) => decideApproval(approval, decision),
    onSuccess: (decided) => {
      onDecided?.(decided);
      void refetchFresh(queryClient, approvalKeys.all);
    },
    onError: (error) => {
      if (error instanceof ApiError && error.code === "approval_decided") {
        void refetchFresh(queryClient, approvalKeys.all);
      }
    },
  });
}

function decisionError(error: unknown): string {
  if (error instanceof ApiError && error.code === "approval_decided") {
    return "This was already answered (perhaps by email or in Slack).";
  }
  return errorMessage(error);
}

function Expiry({ approval }: { approval: Approval }) {
  if (!approval.expires_at) return null;
  return <p className="muted small">Unanswered by {when(approval.expires_at)}, it counts as denied.</p>;
}

function ApprovalForm({ approval, onDecided }: { approval: Approval; onDecided: Props["onDecided"] }) {
  const ids = useId();
  const original = prettyJson(approval.arguments);
  const [text, setText] = useState(original);
  const [reason, setReason] = useState("");
  const [invalid, setInvalid] = useState<string | null>(null);
  const decide = useDecision(approval, onDecided);
  const reasonText = reason.trim();

  const approve = (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseArguments(text);
    if (!parsed.ok) {
      setInvalid(parsed.error);
      return;
    }
    setInvalid(null);
    const changed = !sameJson(approval.arguments, JSON.stringify(parsed.value));
    decide.mutate({
      decision: "approve",
      ...(changed ? { arguments: parsed.value } : {}),
      ...(reasonText ? { reason: reasonText } : {}),
    });
  };
  const deny = () => {
    setInvalid(null);
    decide.mutate({ decision: "deny", ...(reasonText ? { reason: reasonText } : {}) });
  };

  return (
    <form className="stack approval-form" onSubmit={approve}>
      <ToolHeading approval={approval} />
      <div className="field">
        <label htmlFor={`${ids}-arguments`}>Arguments (JSON, you may edit them)</label>
        <textarea
          id={`${ids}-arguments`}
          className="approval-arguments"
          value={text}
          rows={Math.min(12, Math.max(3, text.split("\n").length))}
          spellCheck={false}
          aria-invalid={invalid ? true : undefined}
          aria-describedby={invalid ? `${ids}-invalid` : undefined}
          onChange={(e) => {
            setText(e.target.value);
            setInvalid(null);
          }}
        />
        {invalid && (
          <p id={`${ids}-invalid`} className="error-text" role="alert">
            {invalid}
          </p>
        )}
      </div>
      <div className="field">
        <label htmlFor={`${ids}-reason`}>Reason (optional)</label>
        <input
          id={`${ids}-reason`}
          value={reason}
          maxLength={2000}
          autoComplete="off"
          onChange={(e) => setReason(e.target.value)}
        />
      </div>
      <Expiry approval={approval} />
      {decide.isError && <ErrorAlert message={decisionError(decide.error)} />}
      <div className="button-row">
        <button type="submit" className="button primary" disabled={decide.isPending}>
          Approve
        </button>
        <button type="button" className="button danger" disabled={decide.isPending} onClick={deny}>
          Deny
        </button>
      </div>
    </form>
  );
}

function QuestionForm({ approval, onDecided }: { approval: Approval; onDecided: Props["onDecided"] }) {
  const ids = useId();
  const [answer, setAnswer] = useState("");
  const decide = useDecision(approval, onDecided);
  const choices = approval.choices ?? [];
  const send = (event: FormEvent) => {
    event.preventDefault();
    if (answer.trim()) decide.mutate({ decision: "approve", answer: answer.trim() });
  };
  return (
    <form className="stack approval-form" onSubmit={send} aria-describedby={`${ids}-question`}>
      <ToolHeading approval={approval} />
      <p id={`${ids}-question`} className="approval-question">
        {approval.question ?? ""}
      </p>
      {choices.length > 0 ? (
        <div className="button-row" role="group" aria-label="Choices">
          {choices.map((choice) => (
            <button
              key={choice}
              type="button"
              className="button"
              disabled={decide.isPending}
              onClick={() => decide.mutate({ decision: "approve", answer: choice })}
            >
              {choice}
            </button>
          ))}
        </div>
      ) : (
        <div className="field">
          <label htmlFor={`${ids}-answer`}>Your answer</label>
          <textarea
            id={`${ids}-answer`}
            value={answer}
            rows={2}
            maxLength={4000}
            onChange={(e) => setAnswer(e.target.value)}
          />
        </div>
      )}
      <Expiry approval={approval} />
      {decide.isError && <ErrorAlert message={decisionError(decide.error)} />}
      <div className="button-row">
        {choices.length === 0 && (
          <button type="submit" className="button primary" disabled={decide.isPending || !answer.trim()}>
            Send answer
          </button>
        )}
        <button
          type="button"
          className="button subtle"
          disabled={decide.isPending}
          onClick={() => decide.mutate({ decision: "deny" })}
        >
          Decline to answer
        </button>
      </div>
    </form>
  );
}

function Outcome({ approval }: { approval: Approval }) {
  const edited = approval.decided_arguments !== null && !sameJson(approval.decided_arguments, approval.arguments);
  return (
    <div className="approval-outcome">
      <p className="approval-title">
        <span className="tool-name">{approval.tool}</span>{" "}
        <span className={`status-badge status-${approval.status}`} data-testid="approval-outcome">
          {outcomeText(approval)}
        </span>
      </p>
      {approval.kind === "question" && approval.question && <p className="muted small">Asked: {approval.question}</p>}
      {approval.answer && <p className="small">Answer: {approval.answer}</p>}
      {approval.reason && <p className="small">Reason: {approval.reason}</p>}
      {edited && approval.decided_arguments && (
        <p className="small">
          Run with edited arguments: <code>{approval.decided_arguments}</code>
        </p>
      )}
    </div>
  );
}
