import dagre from "@dagrejs/dagre";

// The pure half of the DAG view: task ids and dependencies in, positions and edges out. No React,
// so it is tested on its own and run only when the graph's shape changes, never on a status change.

export interface LayoutOptions {
  /** LR: ranks as columns (wide windows). TB: ranks as rows (narrow windows scroll down). */
  direction: "LR" | "TB";
  /** Every node is drawn at this size, so the layout needs no measuring. */
  nodeWidth: number;
  nodeHeight: number;
  /** Space between nodes of one rank, and between ranks. */
  nodeGap: number;
  rankGap: number;
}

export const REGULAR_LAYOUT: LayoutOptions = { direction: "LR", nodeWidth: 188, nodeHeight: 64, nodeGap: 28, rankGap: 72 };
/** Small nodes, top to bottom: the reference DAG stays readable in a 380 px window. */
export const COMPACT_LAYOUT: LayoutOptions = { direction: "TB", nodeWidth: 116, nodeHeight: 52, nodeGap: 12, rankGap: 44 };

const MARGIN = 16;

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
  options: LayoutOptions;
}

/** Lays a DAG out in ranks. Dependencies on unknown tasks are dropped. */
export function layoutDag(tasks: readonly DagTask[], options: LayoutOptions = REGULAR_LAYOUT): DagLayout {
  const { direction, nodeWidth, nodeHeight, nodeGap, rankGap } = options;
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: direction, nodesep: nodeGap, ranksep: rankGap, marginx: MARGIN, marginy: MARGIN });
  graph.setDefaultEdgeLabel(() => ({}));

  const ids = new Set(tasks.map((task) => task.id));
  for (const task of tasks) graph.setNode(task.id, { width: nodeWidth, height: nodeHeight });

  const edges: DagEdge[] = [];
  for (const task of tasks) {
    for (const dependency of new Set(task.dependsOn)) {
      if (ids.has(dependency)) edges.push({ id: `${dependency}->${task.id}`, source: dependency, target: task.id });
    }
  }
  // dagre's ordering step tends to reverse siblings; edges given in reverse come out in the
  // definition's order (B1 before B2 before B3), which is how people read the DAG.
  for (let i = edges.length - 1; i >= 0; i -= 1) graph.setEdge(edges[i]!.source, edges[i]!.target);

  dagre.layout(graph);

  const nodes = tasks.map((task) => {
    const { x, y } = graph.node(task.id) as { x: number; y: number };
    // dagre gives the centre of each node; React Flow wants the top-left corner.
    return { id: task.id, x: x - nodeWidth / 2, y: y - nodeHeight / 2 };
  });
  const { width = 0, height = 0 } = graph.graph() as { width?: number; height?: number };
  return { nodes, edges, width, height, options };
}
