import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Task } from "../api/types";
import { referenceTasks } from "../test/fixtures";
import { WorkflowGraph } from "./WorkflowGraph";

function renderGraph(tasks: Task[], selectedTaskId: string | null = null) {
  const onSelectTask = vi.fn<(taskId: string) => void>();
  const view = render(<WorkflowGraph tasks={tasks} selectedTaskId={selectedTaskId} onSelectTask={onSelectTask} />);
  const rerender = (next: Task[], selected: string | null = selectedTaskId) =>
    view.rerender(<WorkflowGraph tasks={next} selectedTaskId={selected} onSelectTask={onSelectTask} />);
  return { ...view, rerender, onSelectTask };
}

const edgeIds = (container: HTMLElement) =>
  Array.from(container.querySelectorAll(".react-flow__edge"))
    .map((edge) => edge.getAttribute("data-id"))
    .toSorted();

const ALL_EDGES = ["A->B1", "A->B2", "A->B3", "B1->C", "B2->C", "B3->C"];

describe("WorkflowGraph", () => {
  it("draws a node per task with its status in words, and every edge", async () => {
    const { container } = renderGraph(referenceTasks({ A: "SUCCEEDED", B1: "RUNNING", B2: "FAILED" }));
    const a = await screen.findByTestId("task-node-A");
    expect(a).toHaveAttribute("data-status", "SUCCEEDED");
    expect(within(a).getByText("Succeeded")).toBeInTheDocument();
    expect(within(screen.getByTestId("task-node-B2")).getByText("Failed")).toBeInTheDocument();
    expect(screen.getByTestId("task-node-C")).toHaveAttribute("data-status", "PENDING");
    await waitFor(() => expect(edgeIds(container)).toEqual(ALL_EDGES));
  });

  it("names each node for screen readers, status and retry included", async () => {
    const tasks = referenceTasks({ A: "RUNNING" });
    tasks[0] = { ...tasks[0]!, attempt: 2, max_attempts: 3 };
    renderGraph(tasks);
    expect(await screen.findByRole("button", { name: "Task A: Running, attempt 2 of 3" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Task C: Pending" })).toBeInTheDocument();
  });

  it("keeps edges, nodes and the viewport through live status updates", async () => {
    const { container, rerender } = renderGraph(referenceTasks());
    await waitFor(() => expect(edgeIds(container)).toEqual(ALL_EDGES));
    const viewport = container.querySelector(".react-flow__viewport") as HTMLElement;
    const transform = viewport.style.transform;
    const nodeA = container.querySelector('[data-id="A"]');

    rerender(referenceTasks({ A: "SUCCEEDED", B1: "RUNNING", B2: "RUNNING", B3: "RUNNING" }));
    await waitFor(() => expect(screen.getByTestId("task-node-B3")).toHaveAttribute("data-status", "RUNNING"));
    rerender(referenceTasks({ A: "SUCCEEDED", B1: "SUCCEEDED", B2: "SUCCEEDED", B3: "SUCCEEDED", C: "SUCCEEDED" }));
    await waitFor(() => expect(screen.getByTestId("task-node-C")).toHaveAttribute("data-status", "SUCCEEDED"));

    expect(edgeIds(container)).toEqual(ALL_EDGES);
    expect(container.querySelector('[data-id="A"]')).toBe(nodeA);
    expect(viewport.style.transform).toBe(transform);
  });

  it("animates the edges into running tasks", async () => {
    const { container } = renderGraph(referenceTasks({ A: "SUCCEEDED", B2: "RUNNING" }));
    await waitFor(() => expect(edgeIds(container)).toEqual(ALL_EDGES));
    const animated = Array.from(container.querySelectorAll(".react-flow__edge.animated")).map((e) =>
      e.getAttribute("data-id"),
    );
    expect(animated).toEqual(["A->B2"]);
  });

  it("opens a task on click", async () => {
    const { onSelectTask } = renderGraph(referenceTasks());
    // fireEvent, not userEvent: d3-zoom's mousedown handler needs event.view, which jsdom leaves null.
    fireEvent.click(await screen.findByTestId("task-node-B2"));
    expect(onSelectTask).toHaveBeenCalledWith("B2");
  });

  it("opens a task from the keyboard: Tab to the node, Enter", async () => {
    const { onSelectTask } = renderGraph(referenceTasks());
    const node = await screen.findByRole("button", { name: "Task B1: Pending" });
    node.focus();
    expect(node).toHaveFocus();
    fireEvent.keyDown(node, { key: "Enter" });
    await waitFor(() => expect(onSelectTask).toHaveBeenCalledWith("B1"));
  });

  it("marks the selected task's node", async () => {
    const { container } = renderGraph(referenceTasks(), "C");
    await screen.findByTestId("task-node-C");
    await waitFor(() => expect(container.querySelector('[data-id="C"]')).toHaveClass("selected"));
    expect(container.querySelector('[data-id="A"]')).not.toHaveClass("selected");
  });
});

describe("WorkflowGraph in a narrow window", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("draws small nodes top to bottom, without function names", async () => {
    vi.stubGlobal("matchMedia", (query: string) => ({
      matches: query === "(max-width: 640px)",
      addEventListener: () => {},
      removeEventListener: () => {},
    }));
    const { container } = renderGraph(referenceTasks({ A: "SUCCEEDED" }));
    const a = await screen.findByTestId("task-node-A");
    expect(a).toHaveClass("task-node--compact");
    expect(within(a).queryByText("task-a")).not.toBeInTheDocument();
    expect(within(a).getByText("Succeeded")).toBeInTheDocument();
    await waitFor(() => expect(edgeIds(container)).toEqual(ALL_EDGES));
    const top = (id: string) => Number.parseFloat(/translate\([\d.-]+px, ?([\d.-]+)px\)/.exec(
      (container.querySelector(`[data-id="${id}"]`) as HTMLElement).style.transform,
    )?.[1] ?? "NaN");
    expect(top("A")).toBeLessThan(top("B1"));
    expect(top("B1")).toBeLessThan(top("C"));
  });
});
