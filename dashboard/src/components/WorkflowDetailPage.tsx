import { useCallback, useEffect, useState } from "react";
import { useApi } from "../api/ApiContext";
import { toApiError, type ApiError } from "../api/client";
import type { Workflow } from "../api/types";
import { WorkflowGraph } from "../dag/WorkflowGraph";
import { elapsedMs, formatDateTime, formatDuration } from "../format";
import { Link } from "../router";
import { useIdentity } from "../auth/IdentityContext";
import { VIEWER_REASON } from "../auth/identity";
import { canCancel, canRetry, isActiveWorkflow } from "../status";
import { useNow } from "../useNow";
import { useWorkflow } from "../workflows/useWorkflow";
import { ConfirmDialog } from "./ConfirmDialog";
import { StatusBadge, StatusLegend } from "./StatusBadge";
import { TaskPanel } from "./TaskPanel";
import { Timeline } from "./Timeline";
import { ErrorState, LoadingState } from "./states";

type Action = "cancel" | "retry";

const ACTIONS: Record<Action, { title: string; confirm: string; keep: string; tone: "danger" | "primary"; body: string }> = {
  cancel: {
    title: "Cancel this workflow?",
    confirm: "Cancel workflow",
    keep: "Keep running",
    tone: "danger",
    body: "Every task that has not finished is cancelled.",
  },
  retry: {
    title: "Retry this workflow?",
    confirm: "Retry workflow",
    keep: "Not now",
    tone: "primary",
    body: "Its failed, cancelled and skipped tasks run again; tasks that succeeded are kept.",
  },
};

export function WorkflowDetailPage({ workflowId }: { workflowId: string }) {
  const { data: workflow, error, loading, refresh, accept } = useWorkflow(workflowId);
  const [selectedTaskId, setSelectedTaskId] = useState<string | null>(null);

  useEffect(() => {
    document.title = `${workflowId} · Orchestra`;
  }, [workflowId]);

  if (!workflow) {
    if (loading) return <LoadingState label="Loading workflow…" />;
    if (error?.status === 404) {
      return (
        <div className="page">
          <BackLink />
          <ErrorState title={`Workflow ${workflowId} was not found`} error={error} />
        </div>
      );
    }
    return (
      <div className="page">
        <BackLink />
        {error && <ErrorState title="Could not load this workflow" error={error} onRetry={() => void refresh()} />}
      </div>
    );
  }

  return (
    <WorkflowView
      workflow={workflow}
      refreshError={error}
      selectedTaskId={selectedTaskId}
      onSelectTask={setSelectedTaskId}
      onActionDone={accept}
    />
  );
}

interface WorkflowViewProps {
  workflow: Workflow;
  refreshError: ApiError | null;
  selectedTaskId: string | null;
  onSelectTask: (taskId: string | null) => void;
  onActionDone: (workflow: Workflow) => void;
}

function WorkflowView({ workflow, refreshError, selectedTaskId, onSelectTask, onActionDone }: WorkflowViewProps) {
  const api = useApi();
  const [pendingAction, setPendingAction] = useState<Action | null>(null);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<ApiError | null>(null);
  const running = isActiveWorkflow(workflow.status) || workflow.tasks.some((task) => task.status === "RUNNING");
  const now = useNow(running);
  const selectedTask = workflow.tasks.find((task) => task.task_id === selectedTaskId) ?? null;
  const selectTask = useCallback((taskId: string) => onSelectTask(taskId), [onSelectTask]);

  async function runAction(action: Action) {
    setBusy(true);
    setActionError(null);
    try {
      const updated =
        action === "cancel" ? await api.cancelWorkflow(workflow.workflow_id) : await api.retryWorkflow(workflow.workflow_id);
      onActionDone(updated);
    } catch (caught) {
      setActionError(toApiError(caught));
    } finally {
      setBusy(false);
      setPendingAction(null);
    }
  }

  const dialog = pendingAction ? ACTIONS[pendingAction] : null;
  const { identity } = useIdentity();

  return (
    <div className="page page--detail">
      <BackLink />
      <header className="page__header">
        <div className="page__title">
          <h1 data-testid="workflow-id">{workflow.workflow_id}</h1>
          <StatusBadge status={workflow.status} testId="workflow-status" />
        </div>
        <div className="page__actions">
          <button
            type="button"
            className="button button--danger-outline"
            disabled={!identity.canOperate || !canCancel(workflow.status)}
            title={identity.canOperate ? undefined : VIEWER_REASON}
            onClick={() => setPendingAction("cancel")}
          >
            Cancel
          </button>
          <button
            type="button"
            className="button button--primary"
            disabled={!identity.canOperate || !canRetry(workflow.status)}
            title={identity.canOperate ? undefined : VIEWER_REASON}
            onClick={() => setPendingAction("retry")}
          >
            Retry
          </button>
        </div>
      </header>

      <dl className="facts facts--inline">
        <div>
          <dt>Definition</dt>
          <dd>{workflow.definition_name ?? "inline"}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>{formatDateTime(workflow.created_at)}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{formatDateTime(workflow.started_at)}</dd>
        </div>
        <div>
          <dt>Finished</dt>
          <dd>{formatDateTime(workflow.finished_at)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd data-testid="workflow-duration">
            {formatDuration(elapsedMs(workflow.started_at, workflow.finished_at, workflow.duration_ms, now))}
          </dd>
        </div>
      </dl>

      {actionError && (
        <div className="banner banner--error" role="alert" data-testid="action-error">
          {actionError.message}
        </div>
      )}
      {refreshError && (
        <div className="banner banner--warning" role="status">
          Could not refresh: {refreshError.message} Showing the last known state.
        </div>
      )}

      <div className={`detail-grid${selectedTask ? " detail-grid--with-panel" : ""}`}>
        <section className="card card--graph" aria-labelledby="graph-heading">
          <header className="card__header">
            <h2 id="graph-heading">Graph</h2>
          </header>
          <WorkflowGraph tasks={workflow.tasks} selectedTaskId={selectedTaskId} onSelectTask={selectTask} />
          <StatusLegend />
        </section>
        {selectedTask && <TaskPanel task={selectedTask} now={now} onClose={() => onSelectTask(null)} />}
      </div>

      <section className="card" aria-labelledby="timeline-heading">
        <header className="card__header">
          <h2 id="timeline-heading">Timeline</h2>
        </header>
        <Timeline tasks={workflow.tasks} now={now} selectedTaskId={selectedTaskId} onSelectTask={selectTask} />
      </section>

      {dialog && pendingAction && (
        <ConfirmDialog
          title={dialog.title}
          confirmLabel={dialog.confirm}
          cancelLabel={dialog.keep}
          tone={dialog.tone}
          busy={busy}
          onConfirm={() => void runAction(pendingAction)}
          onCancel={() => setPendingAction(null)}
        >
          <p>
            <strong>{workflow.workflow_id}</strong>: {dialog.body}
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function BackLink() {
  return (
    <Link href="/" className="back-link">
      ← All workflows
    </Link>
  );
}

export default WorkflowDetailPage;
