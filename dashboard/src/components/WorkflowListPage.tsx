import { useEffect, useState } from "react";
import { WORKFLOW_STATUSES, type WorkflowStatus, type WorkflowSummary } from "../api/types";
import { useIdentity } from "../auth/IdentityContext";
import { VIEWER_REASON } from "../auth/identity";
import { elapsedMs, formatDateTime, formatDuration } from "../format";
import { Link, navigate, useLocation, workflowHref } from "../router";
import { isActiveWorkflow, statusAppearance } from "../status";
import { useNow } from "../useNow";
import { useWorkflowList } from "../workflows/useWorkflowList";
import { NewWorkflowForm } from "./NewWorkflowForm";
import { StatusBadge } from "./StatusBadge";
import { EmptyState, ErrorState, LoadingState } from "./states";

function parseStatus(value: string | null): WorkflowStatus | null {
  return WORKFLOW_STATUSES.find((status) => status === value) ?? null;
}

function showStatus(status: WorkflowStatus | null) {
  navigate(status ? `/?status=${status}` : "/", { replace: true });
}

/** The workflow list; the status filter lives in the URL (?status=RUNNING) so it can be linked. */
export function WorkflowListPage() {
  const location = useLocation();
  const status = parseStatus(location.searchParams.get("status"));
  const [creating, setCreating] = useState(false);
  const { identity } = useIdentity();

  useEffect(() => {
    document.title = "Workflows · Orchestra";
  }, []);

  return (
    <div className="page">
      <header className="page__header">
        <div className="page__title">
          <h1>Workflows</h1>
        </div>
        <div className="page__actions">
          <label className="inline-field">
            <span>Status</span>
            <select
              value={status ?? ""}
              onChange={(event) => showStatus(parseStatus(event.target.value))}
              data-testid="status-filter"
            >
              <option value="">All</option>
              {WORKFLOW_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {statusAppearance(s).label}
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            className="button button--primary"
            onClick={() => setCreating((open) => !open)}
            aria-expanded={creating}
            disabled={!identity.canOperate}
            title={identity.canOperate ? undefined : VIEWER_REASON}
          >
            New workflow
          </button>
        </div>
      </header>

      {creating && (
        <NewWorkflowForm
          onCreated={(workflow) => navigate(workflowHref(workflow.workflow_id))}
          onCancel={() => setCreating(false)}
        />
      )}

      {/* A new filter starts again from the first page. */}
      <WorkflowPages key={status ?? "ALL"} status={status} onCreate={() => setCreating(true)} />
    </div>
  );
}

function WorkflowPages({ status, onCreate }: { status: WorkflowStatus | null; onCreate: () => void }) {
  // Cursors of the pages before this one; the API's cursors only go forward.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const { data: page, error, loading, refresh } = useWorkflowList({ status, cursor });
  const items = page?.items ?? [];
  const now = useNow(items.some((item) => isActiveWorkflow(item.status)));

  if (!page) {
    if (loading) return <LoadingState label="Loading workflows…" />;
    if (error) return <ErrorState title="Could not load workflows" error={error} onRetry={() => void refresh()} />;
  }

  return (
    <section className="card" aria-label="Workflow list">
      {error && (
        <div className="banner banner--warning" role="status">
          Could not refresh: {error.message} Showing the last known list.
        </div>
      )}
      {items.length === 0 ? (
        status ? (
          <EmptyState title={`No ${statusAppearance(status).label.toLowerCase()} workflows.`} />
        ) : (
          <EmptyState title="No workflows yet.">
            <button type="button" className="button button--primary" onClick={onCreate}>
              Start one
            </button>
          </EmptyState>
        )
      ) : (
        <WorkflowTable items={items} now={now} />
      )}
      <nav className="pagination" aria-label="Pages">
        <button
          type="button"
          className="button"
          disabled={cursors.length === 0}
          onClick={() => setCursors((stack) => stack.slice(0, -1))}
        >
          ← Newer
        </button>
        <span className="pagination__page" aria-live="polite">
          Page {cursors.length + 1}
        </span>
        <button
          type="button"
          className="button"
          disabled={!page?.next_cursor}
          onClick={() => page?.next_cursor && setCursors((stack) => [...stack, page.next_cursor as string])}
        >
          Older →
        </button>
      </nav>
    </section>
  );
}

function WorkflowTable({ items, now }: { items: WorkflowSummary[]; now: number }) {
  return (
    <table className="table workflow-table" data-testid="workflow-table">
      <thead>
        <tr>
          <th scope="col">Workflow</th>
          <th scope="col">Status</th>
          <th scope="col">Definition</th>
          <th scope="col">Tasks</th>
          <th scope="col">Started</th>
          <th scope="col">Finished</th>
          <th scope="col">Duration</th>
        </tr>
      </thead>
      <tbody>
        {items.map((item) => (
          <tr
            key={item.workflow_id}
            data-testid={`workflow-row-${item.workflow_id}`}
            data-status={item.status}
            // The id link is the keyboard and screen-reader way in; a click anywhere on the row
            // is a shortcut for the mouse.
            onClick={(event) => {
              if (!(event.target as HTMLElement).closest("a")) navigate(workflowHref(item.workflow_id));
            }}
          >
            <th scope="row" data-label="Workflow">
              <Link href={workflowHref(item.workflow_id)} className="workflow-link">
                {item.workflow_id}
              </Link>
            </th>
            <td data-label="Status">
              <StatusBadge status={item.status} testId="workflow-row-status" />
            </td>
            <td data-label="Definition">{item.definition_name ?? "inline"}</td>
            <td data-label="Tasks">
              <TaskProgress counts={item.task_counts} />
            </td>
            <td data-label="Started">{formatDateTime(item.started_at)}</td>
            <td data-label="Finished">{formatDateTime(item.finished_at)}</td>
            <td data-label="Duration">
              {formatDuration(elapsedMs(item.started_at, item.finished_at, item.duration_ms, now))}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function TaskProgress({ counts }: { counts: WorkflowSummary["task_counts"] }) {
  const total = Object.values(counts).reduce((sum, n) => sum + (n ?? 0), 0);
  if (total === 0) return <span className="muted">—</span>;
  // The full breakdown, on hover.
  const detail = Object.entries(counts)
    .filter(([, n]) => n)
    .map(([status, n]) => `${n} ${statusAppearance(status).label.toLowerCase()}`)
    .join(", ");
  return (
    <span title={detail}>
      {counts.SUCCEEDED ?? 0}/{total} succeeded
      {counts.FAILED ? <span className="task-progress__failed"> · {counts.FAILED} failed</span> : null}
    </span>
  );
}
