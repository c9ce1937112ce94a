import { MarkerType, useNodesState, type Edge, type OnNodesChange } from "@xyflow/react";
import { useEffect, useMemo } from "react";
import type { Task } from "../api/types";
import { statusAppearance } from "../status";
import { layoutDag, type DagTask, type LayoutOptions } from "./layout";
import type { TaskFlowNode, TaskNodeData } from "./TaskNode";

const EDGE_COLOR = "#9aa3af";

export interface DagView {
  nodes: TaskFlowNode[];
  edges: Edge[];
  onNodesChange: OnNodesChange<TaskFlowNode>;
}

/**
 * React Flow nodes and edges for a workflow's tasks. The layout is recomputed only when the
 * graph's shape changes; a live update changes node data in place. Nodes live in useNodesState
 * and are spread, never rebuilt, on updates, so the sizes React Flow measured survive: node
 * objects rebuilt from scratch on every update lose them, and the edges vanish with them.
 */
export function useDagLayout(tasks: readonly Task[], selectedTaskId: string | null, options: LayoutOptions): DagView {
  const shapeKey = JSON.stringify(tasks.map((task) => [task.task_id, task.depends_on]));
  const layout = useMemo(() => {
    const shape = JSON.parse(shapeKey) as [string, string[]][];
    return layoutDag(
      shape.map(([id, dependsOn]): DagTask => ({ id, dependsOn })),
      options,
    );
  }, [shapeKey, options]);

  const [nodes, setNodes, onNodesChange] = useNodesState<TaskFlowNode>([]);

  // A new shape: new nodes at their laid-out positions (their data is filled in just below).
  useEffect(() => {
    setNodes(
      layout.nodes.map(
        (position): TaskFlowNode => ({
          id: position.id,
          type: "task",
          position: { x: position.x, y: position.y },
          // Known sizes: edges can be drawn before React Flow has measured anything.
          width: layout.options.nodeWidth,
          height: layout.options.nodeHeight,
          draggable: false,
          connectable: false,
          ariaRole: "button",
          data: {
            taskId: position.id,
            functionName: "",
            status: "PENDING",
            attempt: 0,
            maxAttempts: 0,
            compact: layout.options.direction === "TB",
          },
        }),
      ),
    );
  }, [layout, setNodes]);

  // New statuses or selection: the same nodes with new data.
  useEffect(() => {
    const byId = new Map(tasks.map((task) => [task.task_id, task]));
    setNodes((current) =>
      current.map((node) => {
        const task = byId.get(node.id);
        return task ? withTask(node, task, node.id === selectedTaskId, node.data.compact) : node;
      }),
    );
  }, [tasks, selectedTaskId, setNodes]);

  const edges = useMemo(() => {
    const running = new Set(tasks.filter((task) => task.status === "RUNNING").map((task) => task.task_id));
    return layout.edges.map(
      (edge): Edge => ({
        ...edge,
        markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16, color: EDGE_COLOR },
        style: { stroke: EDGE_COLOR, strokeWidth: 1.5 },
        // Edges into running tasks move, so where the work is now reads at a glance.
        animated: running.has(edge.target),
        focusable: false,
        selectable: false,
      }),
    );
  }, [layout, tasks]);

  return { nodes, edges, onNodesChange };
}

function withTask(node: TaskFlowNode, task: Task, selected: boolean, compact: boolean): TaskFlowNode {
  const data: TaskNodeData = {
    taskId: task.task_id,
    functionName: task.function,
    status: task.status,
    attempt: task.attempt,
    maxAttempts: task.max_attempts,
    compact,
  };
  const retrying = task.attempt > 1 ? `, attempt ${task.attempt} of ${task.max_attempts}` : "";
  const ariaLabel = `Task ${task.task_id}: ${statusAppearance(task.status).label}${retrying}`;
  const unchanged =
    node.selected === selected &&
    node.ariaLabel === ariaLabel &&
    (Object.keys(data) as (keyof TaskNodeData)[]).every((key) => node.data[key] === data[key]);
  return unchanged ? node : { ...node, data, selected, ariaLabel };
}
