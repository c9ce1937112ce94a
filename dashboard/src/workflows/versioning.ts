import type { TaskStatus, Workflow, WorkflowSummary, WorkflowUpdate } from "../api/types";

// Every write to a workflow bumps its `version`, and each WebSocket message or REST answer is a
// snapshot at one version. Messages and responses can arrive late, twice or out of order; these
// functions decide which snapshot the page shows. They return the object they were given when
// nothing changes, so callers can tell with `===`.

/** A REST snapshot replaces what is shown unless it is older. At the same version it still wins:
 * it carries timings, attempts and outputs that a WebSocket message lacks. */
export function applySnapshot<T extends WorkflowSummary>(shown: T | null, fetched: T): T {
  if (!shown || shown.workflow_id !== fetched.workflow_id) return fetched;
  return fetched.version >= shown.version ? fetched : shown;
}

/** A WebSocket update applies only when strictly newer than what is shown. */
export function isNewer(shown: { version: number }, update: WorkflowUpdate): boolean {
  return update.data.version > shown.version;
}

export function applyUpdateToWorkflow(shown: Workflow, update: WorkflowUpdate): Workflow {
  if (update.workflow_id !== shown.workflow_id || !isNewer(shown, update)) return shown;
  const statusById = new Map(update.data.tasks.map((task) => [task.taskId, task.status]));
  const tasks = shown.tasks.map((task) => {
    const status = statusById.get(task.task_id);
    return status && status !== task.status ? { ...task, status } : task;
  });
  return {
    ...shown,
    status: update.data.status,
    version: update.data.version,
    tasks,
    task_counts: countTaskStatuses(tasks.map((task) => task.status)),
  };
}

export function applyUpdateToSummary(shown: WorkflowSummary, update: WorkflowUpdate): WorkflowSummary {
  if (update.workflow_id !== shown.workflow_id || !isNewer(shown, update)) return shown;
  return {
    ...shown,
    status: update.data.status,
    version: update.data.version,
    task_counts: countTaskStatuses(update.data.tasks.map((task) => task.status)),
  };
}

/** A refetched page, keeping any row already shown at a newer version than the page has. */
export function mergePage(shown: WorkflowSummary[], fetched: WorkflowSummary[]): WorkflowSummary[] {
  const shownById = new Map(shown.map((item) => [item.workflow_id, item]));
  return fetched.map((item) => {
    const current = shownById.get(item.workflow_id);
    return current ? applySnapshot(current, item) : item;
  });
}

export function countTaskStatuses(statuses: TaskStatus[]): Partial<Record<TaskStatus, number>> {
  const counts: Partial<Record<TaskStatus, number>> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}
