import dagre from "@dagrejs/dagre";

// The pure half of the DAG view: task ids and dependencies in, positions and edges out. No React,
// so it is tested on its own and run only when the graph's shape changes, never on a status change.

/** Every task node is drawn at this size, so the layout needs no measuring. */
export const TASK_NODE_WIDTH = 176;
export const TASK_NODE_HEIGHT = 64;

export interface DagTask {
  id: string;
  dependsOn: readonly string[];
}

export interface PositionedTask {
  id: string;
  /** Top-left corner, as React Flow positions nodes. */
  x: number;
  y: number;
}

export interface DagEdge {
  id: string;
  source: string;
  target: string;
}

export interface DagLayout {
  nodes: PositionedTask[];
  edges: DagEdge[];
  width: number;
  height: number;
}

export type LayoutDirection = "LR" | "TB";

/** Lays a DAG out in ranks (left to right by default). Dependencies on unknown tasks are dropped. */
export function layoutDag(tasks: readonly DagTask[], direction: LayoutDirection = "LR"): DagLayout {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: direction, nodesep: 28, ranksep: 72, marginx: 16, marginy: 16 });
  graph.setDefaultEdgeLabel(() => ({}));

  const ids = new Set(tasks.map((task) => task.id));
  for (const task of tasks) graph.setNode(task.id, { width: TASK_NODE_WIDTH, height: TASK_NODE_HEIGHT });

  const edges: DagEdge[] = [];
  for (const task of tasks) {
    for (const dependency of new Set(task.dependsOn)) {
      if (!ids.has(dependency)) continue;
      edges.push({ id: `${dependency}->${task.id}`, source: dependency, target: task.id });
      graph.setEdge(dependency, task.id);
    }
  }

  dagre.layout(graph);

  const nodes = tasks.map((task) => {
    const { x, y } = graph.node(task.id) as { x: number; y: number };
    // dagre gives the centre of each node; React Flow wants the top-left corner.
    return { id: task.id, x: x - TASK_NODE_WIDTH / 2, y: y - TASK_NODE_HEIGHT / 2 };
  });
  const { width = 0, height = 0 } = graph.graph() as { width?: number; height?: number };
  return { nodes, edges, width, height };
}
