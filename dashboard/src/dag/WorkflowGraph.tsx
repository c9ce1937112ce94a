import { Background, Controls, ReactFlow, type NodeChange, type NodeMouseHandler } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useCallback } from "react";
import type { Task } from "../api/types";
import { nodeTypes, type TaskFlowNode } from "./TaskNode";
import { useDagLayout } from "./useDagLayout";

interface WorkflowGraphProps {
  tasks: readonly Task[];
  selectedTaskId: string | null;
  onSelectTask: (taskId: string) => void;
}

/** The workflow's DAG, read-only. Tab reaches each node; Enter or a click opens its task. */
export function WorkflowGraph({ tasks, selectedTaskId, onSelectTask }: WorkflowGraphProps) {
  const { nodes, edges, onNodesChange } = useDagLayout(tasks, selectedTaskId);

  // Selection follows the page's selected task, not React Flow's own: a node selected by click
  // or by Enter opens its task, and clicking the empty pane does not close it.
  const handleNodesChange = useCallback(
    (changes: NodeChange<TaskFlowNode>[]) => {
      const selected = changes.find((change) => change.type === "select" && change.selected);
      if (selected && "id" in selected) onSelectTask(selected.id);
      onNodesChange(changes.filter((change) => change.type !== "select"));
    },
    [onNodesChange, onSelectTask],
  );
  const handleNodeClick: NodeMouseHandler<TaskFlowNode> = useCallback(
    (_event, node) => onSelectTask(node.id),
    [onSelectTask],
  );

  return (
    <div className="graph" data-testid="workflow-graph">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={handleNodesChange}
        onNodeClick={handleNodeClick}
        nodesDraggable={false}
        nodesConnectable={false}
        edgesFocusable={false}
        elementsSelectable
        // Fit once, when the nodes first appear; live updates leave the viewport alone.
        fitView
        fitViewOptions={{ padding: 0.15, maxZoom: 1.1 }}
        minZoom={0.25}
        maxZoom={2}
        colorMode="light"
        aria-label="Workflow graph"
      >
        <Background gap={16} size={1} color="#e5e7eb" />
        <Controls showInteractive={false} position="bottom-right" />
      </ReactFlow>
    </div>
  );
}
