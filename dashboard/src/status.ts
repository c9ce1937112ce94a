import type { TaskStatus, WorkflowStatus } from "./api/types";

// The one place that says how a status looks. Every status has a label and an icon besides its
// colour, so nothing is told by colour alone. Colours meet WCAG AA contrast on their background.

export type AnyStatus = WorkflowStatus | TaskStatus;
export type StatusIconName = "clock" | "queued" | "spinner" | "check" | "cross" | "skip" | "slash" | "unknown";

export interface StatusAppearance {
  label: string;
  icon: StatusIconName;
  /** Text and icon colour. */
  color: string;
  /** Soft fill for badges, nodes and timeline bars. */
  background: string;
  /** Border and timeline bar colour. */
  border: string;
}

const pending = { icon: "clock", color: "#4b5563", background: "#f3f4f6", border: "#9ca3af" } as const;
const running = { icon: "spinner", color: "#1d4ed8", background: "#dbeafe", border: "#3b82f6" } as const;
const succeeded = { icon: "check", color: "#166534", background: "#dcfce7", border: "#22c55e" } as const;
const failed = { icon: "cross", color: "#b91c1c", background: "#fee2e2", border: "#ef4444" } as const;
const cancelled = { icon: "slash", color: "#92400e", background: "#fef3c7", border: "#f59e0b" } as const;

const APPEARANCES: Record<AnyStatus, StatusAppearance> = {
  PENDING: { label: "Pending", ...pending },
  READY: { label: "Ready", ...pending, icon: "queued", color: "#3f3f46", border: "#71717a" },
  RUNNING: { label: "Running", ...running },
  SUCCEEDED: { label: "Succeeded", ...succeeded },
  SUCCESS: { label: "Success", ...succeeded },
  FAILED: { label: "Failed", ...failed },
  SKIPPED: { label: "Skipped", icon: "skip", color: "#57534e", background: "#fafaf9", border: "#d6d3d1" },
  CANCELLED: { label: "Cancelled", ...cancelled },
};

/** How a status looks; an unknown status (a newer API) is shown by its own name, in grey. */
export function statusAppearance(status: string): StatusAppearance {
  return (
    APPEARANCES[status as AnyStatus] ?? {
      label: status,
      icon: "unknown",
      color: "#4b5563",
      background: "#f3f4f6",
      border: "#9ca3af",
    }
  );
}

/** Task statuses in the order the legend lists them. */
export const LEGEND_STATUSES: TaskStatus[] = ["PENDING", "READY", "RUNNING", "SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED"];

export const ACTIVE_WORKFLOW_STATUSES: readonly string[] = ["PENDING", "RUNNING"];
export const isActiveWorkflow = (status: string) => ACTIVE_WORKFLOW_STATUSES.includes(status);
export const canCancel = (status: string) => isActiveWorkflow(status);
export const canRetry = (status: string) => status === "FAILED" || status === "CANCELLED";
