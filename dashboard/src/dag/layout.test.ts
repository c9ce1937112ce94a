import { describe, expect, it } from "vitest";
import { COMPACT_LAYOUT, REGULAR_LAYOUT, layoutDag, type DagTask } from "./layout";

const REFERENCE: DagTask[] = [
  { id: "A", dependsOn: [] },
  { id: "B1", dependsOn: ["A"] },
  { id: "B2", dependsOn: ["A"] },
  { id: "B3", dependsOn: ["A"] },
  { id: "C", dependsOn: ["B1", "B2", "B3"] },
];

const { nodeWidth, nodeHeight } = REGULAR_LAYOUT;
const byId = (layout: ReturnType<typeof layoutDag>) => Object.fromEntries(layout.nodes.map((n) => [n.id, n]));

describe("layoutDag", () => {
  it("puts each rank of the reference workflow in its own column, left to right", () => {
    const nodes = byId(layoutDag(REFERENCE));
    expect(nodes.A!.x).toBeLessThan(nodes.B1!.x);
    expect(new Set([nodes.B1!.x, nodes.B2!.x, nodes.B3!.x]).size).toBe(1);
    expect(nodes.B1!.x).toBeLessThan(nodes.C!.x);
  });

  it("keeps parallel tasks in the definition's order, top to bottom", () => {
    const nodes = byId(layoutDag(REFERENCE));
    expect(nodes.B1!.y).toBeLessThan(nodes.B2!.y);
    expect(nodes.B2!.y).toBeLessThan(nodes.B3!.y);
  });

  it("stacks parallel tasks without overlap", () => {
    const nodes = byId(layoutDag(REFERENCE));
    const ys = [nodes.B1!.y, nodes.B2!.y, nodes.B3!.y].toSorted((a, b) => a - b);
    expect(ys[1]! - ys[0]!).toBeGreaterThanOrEqual(nodeHeight);
    expect(ys[2]! - ys[1]!).toBeGreaterThanOrEqual(nodeHeight);
  });

  it("gives top-left corners, not dagre's centres", () => {
    const layout = layoutDag([{ id: "only", dependsOn: [] }]);
    // One node with a 16 px margin: its centre is at margin + half its size.
    expect(layout.nodes[0]).toEqual({ id: "only", x: 16, y: 16 });
    expect(layout.width).toBe(nodeWidth + 32);
    expect(layout.height).toBe(nodeHeight + 32);
  });

  it("makes one edge per dependency, named source->target", () => {
    expect(layoutDag(REFERENCE).edges.map((e) => e.id)).toEqual([
      "A->B1",
      "A->B2",
      "A->B3",
      "B1->C",
      "B2->C",
      "B3->C",
    ]);
  });

  it("drops dependencies on unknown tasks and repeated ones", () => {
    const layout = layoutDag([
      { id: "A", dependsOn: [] },
      { id: "B", dependsOn: ["A", "A", "ghost"] },
    ]);
    expect(layout.edges).toEqual([{ id: "A->B", source: "A", target: "B" }]);
  });

  it("lays out top to bottom, and left to right within a rank, in the compact layout", () => {
    const nodes = byId(layoutDag(REFERENCE, COMPACT_LAYOUT));
    expect(nodes.A!.y).toBeLessThan(nodes.B2!.y);
    expect(nodes.B2!.y).toBeLessThan(nodes.C!.y);
    expect(nodes.B1!.x).toBeLessThan(nodes.B2!.x);
    expect(nodes.B2!.x).toBeLessThan(nodes.B3!.x);
  });

  it("keeps the compact reference DAG narrow enough for a 380 px window at a readable zoom", () => {
    // A 380 px window less page and card padding leaves about 330 px for the graph.
    expect(layoutDag(REFERENCE, COMPACT_LAYOUT).width * 0.75).toBeLessThanOrEqual(330);
  });

  it("is a pure function: the same input gives the same layout", () => {
    expect(layoutDag(REFERENCE)).toEqual(layoutDag(REFERENCE));
  });

  it("lays out nothing for no tasks", () => {
    expect(layoutDag([])).toMatchObject({ nodes: [], edges: [] });
  });
});
