import type { ConnectionStatus } from "../live/useWorkflowSocket";
import { POLL_INTERVAL_MS } from "../live/usePolling";

const LABELS: Record<ConnectionStatus, string> = {
  connecting: "Connecting",
  live: "Live",
  reconnecting: "Reconnecting",
  offline: "Offline",
};

/** Whether the page updates itself live; when it does not, it says it is polling instead. */
export function ConnectionIndicator({ status }: { status: ConnectionStatus }) {
  const polling = status !== "live";
  const explanation = polling
    ? `Live updates unavailable: refreshing every ${POLL_INTERVAL_MS / 1000} s.`
    : "Receiving live updates.";
  return (
    <div
      className={`connection connection--${status}`}
      role="status"
      aria-live="polite"
      data-testid="connection-status"
      data-state={status}
      title={explanation}
    >
      <span className="connection__dot" aria-hidden="true" />
      <span className="connection__label">{LABELS[status]}</span>
      <span className="visually-hidden">{explanation}</span>
    </div>
  );
}
