import {
  Background,
  Controls,
  ReactFlow,
  useReactFlow,
  useStore,
  type FitViewOptions,
  type NodeChange,
  type NodeMouseHandler,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useCallback, useEffect, useRef } from "react";
import type { Task } from "../api/types";
import { useMediaQuery } from "../useMediaQuery";
import { COMPACT_LAYOUT, REGULAR_LAYOUT, type LayoutOptions } from "./layout";
import { nodeTypes, type TaskFlowNode } from "./TaskNode";
import { useDagLayout } from "./useDagLayout";

interface WorkflowGraphProps {
  tasks: readonly Task[];
  selectedTaskId: string | null;
  onSelectTask: (taskId: string) => void;
}

const FIT_VIEW: FitViewOptions = { padding: 0.12, maxZoom: 1.1 };
// Low enough that fitView shows a wide fan-out (40 tasks in one rank) whole; zoom in for detail.
const MIN_ZOOM = 0.1;

/** The workflow's DAG, read-only. Tab reaches each node; Enter or a click opens its task. */
export function WorkflowGraph(props: WorkflowGraphProps) {
  const narrow = useMediaQuery("(max-width: 640px)");
  // A new layout is a new canvas: fitted afresh, with nodes laid out for it.
  return <GraphCanvas key={narrow ? "compact" : "regular"} layout={narrow ? COMPACT_LAYOUT : REGULAR_LAYOUT} {...props} />;
}

function GraphCanvas({ tasks, selectedTaskId, onSelectTask, layout }: WorkflowGraphProps & { layout: LayoutOptions }) {
  const { nodes, edges, onNodesChange } = useDagLayout(tasks, selectedTaskId, layout);

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
    <div className={`graph${layout.direction === "TB" ? " graph--compact" : ""}`} data-testid="workflow-graph">
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
        // Fitted once when the nodes appear, and when the pane changes size (a task panel opens);
        // live updates leave the viewport alone.
        fitView
        fitViewOptions={FIT_VIEW}
        minZoom={MIN_ZOOM}
        maxZoom={2}
        colorMode="light"
        aria-label="Workflow graph"
      >
        <FitViewOnResize />
        <Background gap={16} size={1} color="#e5e7eb" />
        <Controls showInteractive={false} position="bottom-right" />
      </ReactFlow>
    </div>
  );
}

/** Fits the graph again when its pane is resized (the initial fit is React Flow's). */
function FitViewOnResize() {
  const { fitView } = useReactFlow();
  const width = useStore((state) => state.width);
  const height = useStore((state) => state.height);
  const measured = useRef(false);
  useEffect(() => {
    if (!width || !height) return;
    if (!measured.current) {
      measured.current = true;
      return;
    }
    void fitView(FIT_VIEW);
  }, [width, height, fitView]);
  return null;
}
