import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { T0, at, makeTask } from "../test/fixtures";
import { Timeline, barGeometry, timeScale, timelineBars } from "./Timeline";

const tasks = [
  makeTask({
    task_id: "A",
    status: "SUCCEEDED",
    attempt: 1,
    attempts: [{ attempt: 1, status: "SUCCEEDED", started_at: at(0), finished_at: at(1000), error: null }],
  }),
  makeTask({
    task_id: "B1",
    status: "SUCCEEDED",
    attempt: 2,
    attempts: [
      { attempt: 1, status: "FAILED", started_at: at(1000), finished_at: at(1500), error: { message: "boom" } },
      { attempt: 2, status: "SUCCEEDED", started_at: at(2500), finished_at: at(3000), error: null },
    ],
  }),
  makeTask({
    task_id: "B2",
    status: "RUNNING",
    attempt: 1,
    attempts: [{ attempt: 1, status: "RUNNING", started_at: at(1000), finished_at: null, error: null }],
  }),
  makeTask({ task_id: "C", status: "PENDING" }),
];

const NOW = T0 + 4000;

function bar(testId: string) {
  const element = screen.getByTestId(testId);
  return {
    element,
    start: Number(element.dataset.startMs),
    end: Number(element.dataset.endMs),
  };
}

describe("Timeline", () => {
  it("draws one bar per attempt, retries included", () => {
    render(<Timeline tasks={tasks} now={NOW} selectedTaskId={null} onSelectTask={() => {}} />);
    expect(screen.getByTestId("timeline-bar-B1-1")).toHaveAttribute("data-status", "FAILED");
    expect(screen.getByTestId("timeline-bar-B1-2")).toHaveAttribute("data-status", "SUCCEEDED");
    expect(screen.getByTestId("timeline-row-C").querySelectorAll(".timeline__bar")).toHaveLength(0);
  });

  it("labels a retry with its attempt number and keeps its bar wide enough for it", () => {
    render(<Timeline tasks={tasks} now={NOW} selectedTaskId={null} onSelectTask={() => {}} />);
    const first = screen.getByTestId("timeline-bar-B1-1");
    const retry = screen.getByTestId("timeline-bar-B1-2");
    expect(retry).toHaveTextContent("#2");
    expect(retry).toHaveClass("timeline__bar--retry");
    expect(first).not.toHaveTextContent("#");
    expect(first).not.toHaveClass("timeline__bar--retry");
  });

  it("places bars on one time axis: parallel runs overlap, a retry waits out its backoff", () => {
    render(<Timeline tasks={tasks} now={NOW} selectedTaskId={null} onSelectTask={() => {}} />);
    const b1 = bar("timeline-bar-B1-1");
    const b2 = bar("timeline-bar-B2-1");
    const retry = bar("timeline-bar-B1-2");
    expect(b1.start).toBe(b2.start);
    expect(b2.end).toBeGreaterThan(b1.end);
    expect(retry.start).toBeGreaterThan(b1.end);
  });

  it("scales bars to the span from the first start to now", () => {
    const bars = timelineBars(tasks);
    const scale = timeScale(bars, NOW);
    expect(scale).toEqual({ origin: T0, span: 4000 });
    const geometry = (taskId: string, attempt: number) =>
      barGeometry(bars.find((b) => b.taskId === taskId && b.attempt === attempt)!, scale, NOW);
    expect(geometry("A", 1)).toEqual({ leftPct: 0, widthPct: 25 });
    expect(geometry("B1", 2)).toEqual({ leftPct: 62.5, widthPct: 12.5 });
    expect(geometry("B2", 1)).toEqual({ leftPct: 25, widthPct: 75 });
  });

  it("runs an open attempt up to now", () => {
    render(<Timeline tasks={tasks} now={NOW} selectedTaskId={null} onSelectTask={() => {}} />);
    const running = bar("timeline-bar-B2-1");
    expect(running.end).toBe(NOW);
    expect(running.element).toHaveAccessibleName(/B2 attempt 1: Running, 3\.0 s so far/);
  });

  it("names every bar in words", () => {
    render(<Timeline tasks={tasks} now={NOW} selectedTaskId={null} onSelectTask={() => {}} />);
    expect(screen.getByRole("img", { name: /B1 attempt 1: Failed, 500 ms/ })).toBeInTheDocument();
  });

  it("opens a task from its row label", () => {
    const onSelectTask = vi.fn<(taskId: string) => void>();
    render(<Timeline tasks={tasks} now={NOW} selectedTaskId={null} onSelectTask={onSelectTask} />);
    fireEvent.click(screen.getByRole("button", { name: "B2" }));
    expect(onSelectTask).toHaveBeenCalledWith("B2");
  });

  it("says so when nothing has started", () => {
    render(<Timeline tasks={[makeTask({ task_id: "A" })]} now={NOW} selectedTaskId={null} onSelectTask={() => {}} />);
    expect(screen.getByTestId("timeline-empty")).toHaveTextContent("No task has started yet.");
  });

  it("falls back to a task's own timings when it has no attempt history", () => {
    const bars = timelineBars([
      makeTask({ task_id: "A", status: "SUCCEEDED", attempt: 1, started_at: at(0), finished_at: at(10) }),
    ]);
    expect(bars).toEqual([{ taskId: "A", attempt: 1, status: "SUCCEEDED", start: T0, end: T0 + 10 }]);
  });
});
