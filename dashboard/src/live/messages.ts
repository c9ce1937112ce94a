import type { WorkflowUpdate } from "../api/types";

/**
 * Reads one WebSocket frame. Returns null for anything that is not a well-formed
 * `workflow_update`: without a numeric `version` an update cannot be ordered, so it is dropped
 * (the REST refetch on reconnect and the polling fallback keep the page correct regardless).
 */
export function parseWorkflowUpdate(frame: unknown): WorkflowUpdate | null {
  if (typeof frame !== "string") return null;
  let message: unknown;
  try {
    message = JSON.parse(frame);
  } catch {
    return null;
  }
  if (!isRecord(message) || message.type !== "workflow_update" || typeof message.workflow_id !== "string") {
    return null;
  }
  const data = message.data;
  if (
    !isRecord(data) ||
    typeof data.status !== "string" ||
    typeof data.version !== "number" ||
    !Array.isArray(data.tasks) ||
    !data.tasks.every((task) => isRecord(task) && typeof task.taskId === "string" && typeof task.status === "string")
  ) {
    return null;
  }
  return message as unknown as WorkflowUpdate;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
