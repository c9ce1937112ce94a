import type { Task } from "../api/types";
import { Fragment } from "react";
import { elapsedMs, formatDateTime, formatDuration, formatJson, formatTime } from "../format";
import { StatusBadge } from "./StatusBadge";

interface TaskPanelProps {
  task: Task;
  now: number;
  onClose: () => void;
}

/** Everything about one task: status, attempts, timings, input, output and error. */
export function TaskPanel({ task, now, onClose }: TaskPanelProps) {
  const titleId = `task-panel-title-${task.task_id}`;
  return (
    <section className="card task-panel" aria-labelledby={titleId} data-testid="task-panel">
      <header className="card__header">
        <h2 id={titleId}>Task {task.task_id}</h2>
        <button type="button" className="button button--ghost" onClick={onClose} aria-label="Close task details">
          Close
        </button>
      </header>
      <dl className="facts">
        <div>
          <dt>Status</dt>
          <dd>
            <StatusBadge status={task.status} testId="task-panel-status" />
          </dd>
        </div>
        <div>
          <dt>Function</dt>
          <dd>
            {task.function}
            {task.type && <span className="muted"> ({task.type})</span>}
          </dd>
        </div>
        <div>
          <dt>Attempt</dt>
          <dd data-testid="task-panel-attempt">
            {task.attempt} of {task.max_attempts}
          </dd>
        </div>
        <div>
          <dt>Depends on</dt>
          <dd>{task.depends_on.length ? task.depends_on.join(", ") : "—"}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{formatDateTime(task.started_at)}</dd>
        </div>
        <div>
          <dt>Finished</dt>
          <dd>{formatDateTime(task.finished_at)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{formatDuration(elapsedMs(task.started_at, task.finished_at, task.duration_ms, now))}</dd>
        </div>
      </dl>

      {task.error != null && (
        <JsonBlock title="Error" value={task.error} tone="error" testId="task-panel-error" />
      )}
      <JsonBlock title="Input" value={task.input} testId="task-panel-input" />
      {task.output_ref ? (
        <div className="json-block">
          <h3>Output</h3>
          <p className="muted" data-testid="task-panel-output">
            Larger than 64 KB, stored at <code>{task.output_ref}</code>.
          </p>
        </div>
      ) : (
        <JsonBlock title="Output" value={task.output} testId="task-panel-output" />
      )}

      {task.attempts.length > 0 && (
        <div className="attempts">
          <h3>Attempts</h3>
          <table className="table table--compact">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Status</th>
                <th scope="col">Started</th>
                <th scope="col">Duration</th>
              </tr>
            </thead>
            <tbody>
              {task.attempts.map((attempt) => (
                <Fragment key={attempt.attempt}>
                  <tr data-testid={`task-attempt-${attempt.attempt}`}>
                    <td>{attempt.attempt}</td>
                    <td>
                      <StatusBadge status={attempt.status} />
                    </td>
                    <td title={attempt.started_at ?? undefined}>{formatTime(attempt.started_at)}</td>
                    <td>{formatDuration(elapsedMs(attempt.started_at, attempt.finished_at, null, now))}</td>
                  </tr>
                  {/* The error on a row of its own: long messages need the panel's full width. */}
                  {attempt.error != null && (
                    <tr className="attempts__error" data-testid={`task-attempt-${attempt.attempt}-error`}>
                      <td colSpan={4}>{errorSummary(attempt.error)}</td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function JsonBlock({ title, value, tone, testId }: { title: string; value: unknown; tone?: "error"; testId: string }) {
  const empty = value === null || value === undefined;
  return (
    <div className="json-block">
      <h3>{title}</h3>
      {empty ? (
        <p className="muted" data-testid={testId}>
          None
        </p>
      ) : (
        <pre className={`code${tone ? ` code--${tone}` : ""}`} data-testid={testId}>
          {formatJson(value)}
        </pre>
      )}
    </div>
  );
}

/** An attempt's error in one line: its message when it has one. */
function errorSummary(error: unknown): string {
  if (typeof error === "string") return error;
  if (typeof error === "object" && error !== null) {
    const { message, errorMessage } = error as { message?: unknown; errorMessage?: unknown };
    if (typeof message === "string") return message;
    if (typeof errorMessage === "string") return errorMessage;
  }
  return JSON.stringify(error);
}
