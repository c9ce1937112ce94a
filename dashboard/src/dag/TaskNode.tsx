import { Handle, Position, type Node, type NodeProps, type NodeTypes } from "@xyflow/react";
import { memo } from "react";
import type { TaskStatus } from "../api/types";
import { StatusIcon } from "../components/StatusBadge";
import { statusAppearance } from "../status";

export interface TaskNodeData extends Record<string, unknown> {
  taskId: string;
  functionName: string;
  status: TaskStatus;
  attempt: number;
  maxAttempts: number;
  /** The small, top-to-bottom layout of narrow windows: no function name, handles above and below. */
  compact: boolean;
}

export type TaskFlowNode = Node<TaskNodeData, "task">;

function TaskNodeView({ data }: NodeProps<TaskFlowNode>) {
  const appearance = statusAppearance(data.status);
  const [target, source] = data.compact ? [Position.Top, Position.Bottom] : [Position.Left, Position.Right];
  return (
    <div
      className={`task-node${data.compact ? " task-node--compact" : ""}`}
      data-testid={`task-node-${data.taskId}`}
      data-status={data.status}
      style={{ borderColor: appearance.border, background: appearance.background }}
    >
      <Handle type="target" position={target} isConnectable={false} className="task-node__handle" />
      <div className="task-node__title">
        <span className="task-node__id">{data.taskId}</span>
        {!data.compact && <span className="task-node__function">{data.functionName}</span>}
      </div>
      <div className="task-node__status" style={{ color: appearance.color }}>
        <StatusIcon status={data.status} />
        <span data-testid="task-node-status">{appearance.label}</span>
        {data.attempt > 1 && (
          <span className="task-node__attempt" title={`attempt ${data.attempt} of ${data.maxAttempts}`}>
            {data.compact ? `${data.attempt}/${data.maxAttempts}` : `attempt ${data.attempt}/${data.maxAttempts}`}
          </span>
        )}
      </div>
      <Handle type="source" position={source} isConnectable={false} className="task-node__handle" />
    </div>
  );
}

/** Defined once, outside any component: a new object each render would remount every node. */
export const nodeTypes = { task: memo(TaskNodeView) } satisfies NodeTypes;
