import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { FakeWebSocket, createFakeApi, type FakeApi } from "../test/fakes";
import { at, makeTask, makeUpdate, makeWorkflow, referenceTasks } from "../test/fixtures";
import { renderWithProviders } from "../test/render";
import { WorkflowDetailPage } from "./WorkflowDetailPage";

let api: FakeApi;
beforeEach(() => {
  FakeWebSocket.reset();
  api = createFakeApi();
});

const renderPage = (workflowId = "wf-1") => renderWithProviders(<WorkflowDetailPage workflowId={workflowId} />, api);

describe("WorkflowDetailPage", () => {
  it("shows the workflow's status, graph, legend and timeline", async () => {
    const tasks = referenceTasks({ A: "SUCCEEDED", B1: "RUNNING" });
    tasks[0] = { ...tasks[0]!, attempts: [{ attempt: 1, status: "SUCCEEDED", started_at: at(0), finished_at: at(900), error: null }] };
    api.getWorkflow.mockResolvedValue(makeWorkflow({ tasks, version: 3 }));
    renderPage();
    expect(screen.getByTestId("loading")).toBeInTheDocument();

    expect(await screen.findByTestId("workflow-status")).toHaveTextContent("Running");
    expect(screen.getByRole("heading", { level: 1, name: "wf-1" })).toBeInTheDocument();
    expect(await screen.findByTestId("task-node-A")).toHaveAttribute("data-status", "SUCCEEDED");
    expect(screen.getByTestId("status-legend")).toBeInTheDocument();
    expect(screen.getByTestId("timeline-bar-A-1")).toBeInTheDocument();
    expect(document.title).toBe("wf-1 · Orchestra");
  });

  it("turns nodes green live", async () => {
    api.getWorkflow.mockResolvedValue(makeWorkflow({ version: 1 }));
    renderPage();
    await screen.findByTestId("task-node-C");
    act(() => FakeWebSocket.latest().open());
    act(() =>
      FakeWebSocket.latest().receive(
        makeUpdate("wf-1", 9, "SUCCESS", { A: "SUCCEEDED", B1: "SUCCEEDED", B2: "SUCCEEDED", B3: "SUCCEEDED", C: "SUCCEEDED" }),
      ),
    );
    await waitFor(() => expect(screen.getByTestId("task-node-C")).toHaveAttribute("data-status", "SUCCEEDED"));
    expect(screen.getByTestId("workflow-status")).toHaveTextContent("Success");
  });

  it("opens a task's details from the graph and closes them", async () => {
    const tasks = referenceTasks();
    tasks[2] = makeTask({ ...tasks[2]!, status: "FAILED", error: { message: "boom" } });
    api.getWorkflow.mockResolvedValue(makeWorkflow({ tasks }));
    renderPage();
    fireEvent.click(await screen.findByTestId("task-node-B2"));
    const panel = await screen.findByTestId("task-panel");
    expect(within(panel).getByRole("heading", { name: "Task B2" })).toBeInTheDocument();
    expect(within(panel).getByTestId("task-panel-error")).toHaveTextContent("boom");
    await userEvent.click(within(panel).getByRole("button", { name: "Close task details" }));
    expect(screen.queryByTestId("task-panel")).not.toBeInTheDocument();
  });

  it("cancels only after confirmation, and shows the answer", async () => {
    api.getWorkflow.mockResolvedValue(makeWorkflow({ status: "RUNNING", version: 2 }));
    api.cancelWorkflow.mockResolvedValue(makeWorkflow({ status: "CANCELLED", version: 3 }));
    renderPage();
    const cancel = await screen.findByRole("button", { name: "Cancel" });
    expect(screen.getByRole("button", { name: "Retry" })).toBeDisabled();

    await userEvent.click(cancel);
    const dialog = screen.getByRole("dialog", { name: "Cancel this workflow?" });
    expect(within(dialog).getByRole("button", { name: "Keep running" })).toHaveFocus();
    expect(api.cancelWorkflow).not.toHaveBeenCalled();

    await userEvent.click(within(dialog).getByRole("button", { name: "Cancel workflow" }));
    expect(api.cancelWorkflow).toHaveBeenCalledWith("wf-1");
    await waitFor(() => expect(screen.getByTestId("workflow-status")).toHaveTextContent("Cancelled"));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Retry" })).toBeEnabled();
  });

  it("does nothing when the confirmation is dismissed with Escape", async () => {
    api.getWorkflow.mockResolvedValue(makeWorkflow({ status: "RUNNING" }));
    renderPage();
    await userEvent.click(await screen.findByRole("button", { name: "Cancel" }));
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Cancel" })).toHaveFocus();
    expect(api.cancelWorkflow).not.toHaveBeenCalled();
  });

  it("retries a failed workflow after confirmation", async () => {
    api.getWorkflow.mockResolvedValue(makeWorkflow({ status: "FAILED", version: 5 }));
    api.retryWorkflow.mockResolvedValue(makeWorkflow({ status: "RUNNING", version: 6 }));
    renderPage();
    expect(await screen.findByRole("button", { name: "Cancel" })).toBeDisabled();
    await userEvent.click(screen.getByRole("button", { name: "Retry" }));
    await userEvent.click(screen.getByRole("button", { name: "Retry workflow" }));
    expect(api.retryWorkflow).toHaveBeenCalledWith("wf-1");
    await waitFor(() => expect(screen.getByTestId("workflow-status")).toHaveTextContent("Running"));
  });

  it("shows the API's refusal of an action", async () => {
    api.getWorkflow.mockResolvedValue(makeWorkflow({ status: "RUNNING" }));
    api.cancelWorkflow.mockRejectedValue(new ApiError(409, "conflict", "Workflow wf-1 has already finished."));
    renderPage();
    await userEvent.click(await screen.findByRole("button", { name: "Cancel" }));
    await userEvent.click(screen.getByRole("button", { name: "Cancel workflow" }));
    expect(await screen.findByTestId("action-error")).toHaveTextContent("Workflow wf-1 has already finished.");
  });

  it("says when the workflow does not exist", async () => {
    api.getWorkflow.mockRejectedValue(new ApiError(404, "not_found", "No workflow wf-gone."));
    renderPage("wf-gone");
    expect(await screen.findByTestId("error-state")).toHaveTextContent("Workflow wf-gone was not found");
    expect(screen.getByRole("link", { name: /All workflows/ })).toHaveAttribute("href", "/");
  });
});
