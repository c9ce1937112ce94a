import type { Task, TaskStatus, Workflow, WorkflowStatus, WorkflowSummary, WorkflowUpdate } from "../api/types";

// The reference workflow A → (B1, B2, B3) → C, built the way the API returns it.

export const T0 = Date.parse("2026-01-05T10:00:00.000Z");
export const at = (ms: number) => new Date(T0 + ms).toISOString();

export function makeTask(overrides: Partial<Task> & Pick<Task, "task_id">): Task {
  return {
    function: `task-${overrides.task_id.toLowerCase()}`,
    type: "node",
    depends_on: [],
    status: "PENDING",
    attempt: 0,
    max_attempts: 3,
    input: {},
    output: null,
    output_ref: null,
    error: null,
    started_at: null,
    finished_at: null,
    duration_ms: null,
    attempts: [],
    ...overrides,
  };
}

export function referenceTasks(statuses: Partial<Record<string, TaskStatus>> = {}): Task[] {
  const status = (id: string) => statuses[id] ?? "PENDING";
  return [
    makeTask({ task_id: "A", status: status("A") }),
    makeTask({ task_id: "B1", depends_on: ["A"], status: status("B1") }),
    makeTask({ task_id: "B2", function: "task-b2", type: "python", depends_on: ["A"], status: status("B2") }),
    makeTask({ task_id: "B3", type: "container", depends_on: ["A"], status: status("B3") }),
    makeTask({ task_id: "C", depends_on: ["B1", "B2", "B3"], status: status("C") }),
  ];
}

export function makeWorkflow(overrides: Partial<Workflow> = {}): Workflow {
  const tasks = overrides.tasks ?? referenceTasks();
  return {
    workflow_id: "wf-1",
    definition_name: "orchestra",
    status: "RUNNING",
    created_at: at(0),
    started_at: at(100),
    finished_at: null,
    duration_ms: null,
    task_counts: { PENDING: tasks.length },
    version: 1,
    input: {},
    tasks,
    ...overrides,
  };
}

export function makeSummary(overrides: Partial<WorkflowSummary> = {}): WorkflowSummary {
  return {
    workflow_id: "wf-1",
    definition_name: "orchestra",
    status: "RUNNING",
    created_at: at(0),
    started_at: at(100),
    finished_at: null,
    duration_ms: null,
    task_counts: { PENDING: 5 },
    version: 1,
    ...overrides,
  };
}

export function makeUpdate(
  workflowId: string,
  version: number,
  status: WorkflowStatus,
  tasks: Record<string, TaskStatus> = {},
): WorkflowUpdate {
  return {
    type: "workflow_update",
    workflow_id: workflowId,
    data: {
      workflow_id: workflowId,
      status,
      version,
      tasks: Object.entries(tasks).map(([taskId, taskStatus]) => ({ taskId, status: taskStatus, type: "node" })),
    },
  };
}
