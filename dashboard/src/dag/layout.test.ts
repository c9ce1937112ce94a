import { describe, expect, it } from "vitest";
import { TASK_NODE_HEIGHT, TASK_NODE_WIDTH, layoutDag, type DagTask } from "./layout";

const REFERENCE: DagTask[] = [
  { id: "A", dependsOn: [] },
  { id: "B1", dependsOn: ["A"] },
  { id: "B2", dependsOn: ["A"] },
  { id: "B3", dependsOn: ["A"] },
  { id: "C", dependsOn: ["B1", "B2", "B3"] },
];

const byId = (layout: ReturnType<typeof layoutDag>) => Object.fromEntries(layout.nodes.map((n) => [n.id, n]));

describe("layoutDag", () => {
  it("puts each rank of the reference workflow in its own column, left to right", () => {
    const nodes = byId(layoutDag(REFERENCE));
    expect(nodes.A!.x).toBeLessThan(nodes.B1!.x);
    expect(new Set([nodes.B1!.x, nodes.B2!.x, nodes.B3!.x]).size).toBe(1);
    expect(nodes.B1!.x).toBeLessThan(nodes.C!.x);
  });

  it("stacks parallel tasks without overlap", () => {
    const nodes = byId(layoutDag(REFERENCE));
    const ys = [nodes.B1!.y, nodes.B2!.y, nodes.B3!.y].toSorted((a, b) => a - b);
    expect(ys[1]! - ys[0]!).toBeGreaterThanOrEqual(TASK_NODE_HEIGHT);
    expect(ys[2]! - ys[1]!).toBeGreaterThanOrEqual(TASK_NODE_HEIGHT);
  });

  it("gives top-left corners, not dagre's centres", () => {
    const layout = layoutDag([{ id: "only", dependsOn: [] }]);
    // One node with a 16 px margin: its centre is at margin + half its size.
    expect(layout.nodes[0]).toEqual({ id: "only", x: 16, y: 16 });
    expect(layout.width).toBe(TASK_NODE_WIDTH + 32);
    expect(layout.height).toBe(TASK_NODE_HEIGHT + 32);
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

  it("lays out top to bottom when asked", () => {
    const nodes = byId(layoutDag(REFERENCE, "TB"));
    expect(nodes.A!.y).toBeLessThan(nodes.B2!.y);
    expect(nodes.B2!.y).toBeLessThan(nodes.C!.y);
  });

  it("is a pure function: the same input gives the same layout", () => {
    expect(layoutDag(REFERENCE)).toEqual(layoutDag(REFERENCE));
  });

  it("lays out nothing for no tasks", () => {
    expect(layoutDag([])).toMatchObject({ nodes: [], edges: [] });
  });
});
