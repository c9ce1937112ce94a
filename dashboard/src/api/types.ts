// The REST and WebSocket shapes of docs/architecture.md. Times are ISO-8601 UTC strings with
// milliseconds; absent values are null.

export const WORKFLOW_STATUSES = ["PENDING", "RUNNING", "SUCCESS", "FAILED", "CANCELLED"] as const;
export const TASK_STATUSES = [
  "PENDING",
  "READY",
  "RUNNING",
  "SUCCEEDED",
  "FAILED",
  "SKIPPED",
  "CANCELLED",
] as const;

export type WorkflowStatus = (typeof WORKFLOW_STATUSES)[number];
export type TaskStatus = (typeof TASK_STATUSES)[number];

export interface WorkflowSummary {
  workflow_id: string;
  definition_name: string | null;
  status: WorkflowStatus;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  task_counts: Partial<Record<TaskStatus, number>>;
  version: number;
}

export interface TaskAttempt {
  attempt: number;
  status: TaskStatus;
  started_at: string | null;
  finished_at: string | null;
  error: unknown;
}

export interface Task {
  task_id: string;
  function: string;
  type: string | null;
  depends_on: string[];
  status: TaskStatus;
  attempt: number;
  max_attempts: number;
  input: unknown;
  output: unknown;
  output_ref: string | null;
  error: unknown;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  attempts: TaskAttempt[];
}

export interface Workflow extends WorkflowSummary {
  input: unknown;
  tasks: Task[];
}

export interface WorkflowPage {
  items: WorkflowSummary[];
  next_cursor: string | null;
}

export interface TaskDefinition {
  id: string;
  function: string;
  depends_on: string[];
  retry?: { max_attempts?: number; backoff?: number };
  timeout_seconds?: number;
  input?: unknown;
}

export interface Definition {
  name: string;
  description: string;
  tasks: TaskDefinition[];
}

export interface CreateWorkflowRequest {
  workflowId?: string;
  definition?: string;
  input?: unknown;
}

export interface ErrorDetail {
  field: string;
  message: string;
}

export interface ErrorBody {
  error: string;
  message: string;
  details?: ErrorDetail[];
}

/** A `workflow_update` WebSocket message: the whole workflow's statuses at one `version`. */
export interface WorkflowUpdate {
  type: "workflow_update";
  workflow_id: string;
  data: {
    workflow_id: string;
    status: WorkflowStatus;
    version: number;
    tasks: { taskId: string; status: TaskStatus; type?: string }[];
  };
}
