interface Props {
  message: string;
  onRetry?: (() => void) | undefined;
  onDismiss?: (() => void) | undefined;
}

/** An error people can read (role=alert) and, where it makes sense, retry. */
export function ErrorAlert({ message, onRetry, onDismiss }: Props) {
  return (
    <div role="alert" className="alert">
      <p className="alert-message">{message}</p>
      {(onRetry || onDismiss) && (
        <div className="alert-actions">
          {onRetry && (
            <button type="button" className="button" onClick={onRetry}>
              Retry
            </button>
          )}
          {onDismiss && (
            <button type="button" className="button subtle" onClick={onDismiss}>
              Dismiss
            </button>
          )}
        </div>
      )}
    </div>
  );
}
