import { fireEvent, render, screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { T0, at, makeTask } from "../test/fixtures";
import { TaskPanel } from "./TaskPanel";

const failed = makeTask({
  task_id: "B2",
  function: "task-b2",
  type: "python",
  depends_on: ["A"],
  status: "FAILED",
  attempt: 3,
  max_attempts: 3,
  input: { simulate: { B2: { fail_attempts: 9 } } },
  error: { message: "simulated failure", attempt: 3 },
  started_at: at(0),
  finished_at: at(2500),
  duration_ms: 2500,
  attempts: [
    { attempt: 1, status: "FAILED", started_at: at(0), finished_at: at(100), error: { message: "first" } },
    { attempt: 2, status: "FAILED", started_at: at(1100), finished_at: at(1200), error: "second" },
    { attempt: 3, status: "FAILED", started_at: at(2400), finished_at: at(2500), error: { errorMessage: "third" } },
  ],
});

describe("TaskPanel", () => {
  it("shows status, attempts, timings, input and error", () => {
    render(<TaskPanel task={failed} now={T0} onClose={() => {}} />);
    expect(screen.getByRole("heading", { name: "Task B2" })).toBeInTheDocument();
    expect(screen.getByTestId("task-panel-status")).toHaveTextContent("Failed");
    expect(screen.getByTestId("task-panel-attempt")).toHaveTextContent("3 of 3");
    expect(screen.getByText("2.5 s")).toBeInTheDocument();
    expect(screen.getByTestId("task-panel-input")).toHaveTextContent('"fail_attempts": 9');
    expect(screen.getByTestId("task-panel-error")).toHaveTextContent("simulated failure");
    expect(screen.getByTestId("task-panel-output")).toHaveTextContent("None");
  });

  it("lists each attempt with its error's message", () => {
    render(<TaskPanel task={failed} now={T0} onClose={() => {}} />);
    expect(within(screen.getByTestId("task-attempt-1")).getByText("100 ms")).toBeInTheDocument();
    expect(screen.getByTestId("task-attempt-1-error")).toHaveTextContent("first");
    expect(screen.getByTestId("task-attempt-2-error")).toHaveTextContent("second");
    expect(screen.getByTestId("task-attempt-3-error")).toHaveTextContent("third");
  });

  it("points to S3 for an output above 64 KB", () => {
    render(
      <TaskPanel
        task={makeTask({ task_id: "B1", status: "SUCCEEDED", output_ref: "s3://artifacts/wf-1/B1.json" })}
        now={T0}
        onClose={() => {}}
      />,
    );
    expect(screen.getByTestId("task-panel-output")).toHaveTextContent("s3://artifacts/wf-1/B1.json");
  });

  it("shows the output as JSON", () => {
    render(<TaskPanel task={makeTask({ task_id: "A", output: { value: 42 } })} now={T0} onClose={() => {}} />);
    expect(screen.getByTestId("task-panel-output")).toHaveTextContent('"value": 42');
  });

  it("closes", () => {
    const onClose = vi.fn<() => void>();
    render(<TaskPanel task={failed} now={T0} onClose={onClose} />);
    fireEvent.click(screen.getByRole("button", { name: "Close task details" }));
    expect(onClose).toHaveBeenCalledOnce();
  });
});
