import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { FakeWebSocket, createFakeApi, type FakeApi } from "../test/fakes";
import { makeSummary, makeUpdate, makeWorkflow } from "../test/fixtures";
import { renderWithProviders } from "../test/render";
import { WorkflowListPage } from "./WorkflowListPage";

let api: FakeApi;
beforeEach(() => {
  FakeWebSocket.reset();
  api = createFakeApi();
  api.listDefinitions.mockResolvedValue([]);
});

const renderPage = () => renderWithProviders(<WorkflowListPage />, api);

describe("WorkflowListPage", () => {
  it("shows a loading state, then one row per workflow with status, definition, times and duration", async () => {
    api.listWorkflows.mockResolvedValue({
      items: [
        makeSummary({ workflow_id: "wf-2", status: "RUNNING" }),
        makeSummary({
          workflow_id: "wf-1",
          status: "SUCCESS",
          finished_at: "2026-01-05T10:00:04.000Z",
          duration_ms: 3900,
          task_counts: { SUCCEEDED: 5 },
        }),
      ],
      next_cursor: null,
    });
    renderPage();
    expect(screen.getByTestId("loading")).toHaveTextContent("Loading workflows");

    const done = await screen.findByTestId("workflow-row-wf-1");
    expect(within(done).getByTestId("workflow-row-status")).toHaveTextContent("Success");
    expect(within(done).getByText("orchestra")).toBeInTheDocument();
    expect(within(done).getByText("3.9 s")).toBeInTheDocument();
    expect(within(done).getByText("5/5 succeeded")).toBeInTheDocument();
    expect(within(done).getByRole("link", { name: "wf-1" })).toHaveAttribute("href", "/workflows/wf-1");
    expect(screen.getByTestId("workflow-row-wf-2")).toHaveAttribute("data-status", "RUNNING");
  });

  it("opens a workflow from its row", async () => {
    api.listWorkflows.mockResolvedValue({ items: [makeSummary({ workflow_id: "wf-1" })], next_cursor: null });
    renderPage();
    fireEvent.click(within(await screen.findByTestId("workflow-row-wf-1")).getByText("orchestra"));
    expect(window.location.pathname).toBe("/workflows/wf-1");
  });

  it("filters by status, in the URL too", async () => {
    api.listWorkflows.mockResolvedValue({ items: [], next_cursor: null });
    renderPage();
    await screen.findByTestId("empty-state");
    await userEvent.selectOptions(screen.getByTestId("status-filter"), "FAILED");
    await waitFor(() =>
      expect(api.listWorkflows).toHaveBeenLastCalledWith({ status: "FAILED", cursor: null, limit: 20 }, expect.anything()),
    );
    expect(window.location.search).toBe("?status=FAILED");
    expect(await screen.findByTestId("empty-state")).toHaveTextContent("No failed workflows.");
  });

  it("pages forward with the API's cursor and back again", async () => {
    api.listWorkflows.mockImplementation(async ({ cursor }) =>
      cursor === "page-2"
        ? { items: [makeSummary({ workflow_id: "wf-old" })], next_cursor: null }
        : { items: [makeSummary({ workflow_id: "wf-new" })], next_cursor: "page-2" },
    );
    renderPage();
    await screen.findByTestId("workflow-row-wf-new");
    expect(screen.getByRole("button", { name: "← Newer" })).toBeDisabled();

    await userEvent.click(screen.getByRole("button", { name: "Older →" }));
    await screen.findByTestId("workflow-row-wf-old");
    expect(screen.getByText("Page 2")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Older →" })).toBeDisabled();

    await userEvent.click(screen.getByRole("button", { name: "← Newer" }));
    await screen.findByTestId("workflow-row-wf-new");
  });

  it("offers to start the first workflow when there is none", async () => {
    api.listWorkflows.mockResolvedValue({ items: [], next_cursor: null });
    renderPage();
    expect(await screen.findByTestId("empty-state")).toHaveTextContent("No workflows yet.");
    await userEvent.click(screen.getByRole("button", { name: "Start one" }));
    expect(screen.getByRole("heading", { name: "New workflow" })).toBeInTheDocument();
  });

  it("shows an error with a way to try again", async () => {
    api.listWorkflows.mockRejectedValueOnce(new ApiError(502, "http_error", "Internal server error"));
    api.listWorkflows.mockResolvedValue({ items: [makeSummary()], next_cursor: null });
    renderPage();
    expect(await screen.findByTestId("error-state")).toHaveTextContent("Internal server error");
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByTestId("workflow-row-wf-1")).toBeInTheDocument();
  });

  it("updates a row's status live", async () => {
    api.listWorkflows.mockResolvedValue({ items: [makeSummary({ workflow_id: "wf-1", version: 3 })], next_cursor: null });
    renderPage();
    await screen.findByTestId("workflow-row-wf-1");
    act(() => FakeWebSocket.latest().open());
    act(() => FakeWebSocket.latest().receive(makeUpdate("wf-1", 4, "FAILED", { A: "FAILED" })));
    expect(screen.getByTestId("workflow-row-wf-1")).toHaveAttribute("data-status", "FAILED");
    expect(within(screen.getByTestId("workflow-row-wf-1")).getByText(/1 failed/)).toBeInTheDocument();
  });

  it("goes to a new workflow's page once it is started", async () => {
    api.listWorkflows.mockResolvedValue({ items: [], next_cursor: null });
    api.createWorkflow.mockResolvedValue({ workflow: makeWorkflow({ workflow_id: "wf-new" }), created: true });
    renderPage();
    await userEvent.click(screen.getByRole("button", { name: "New workflow" }));
    await userEvent.click(screen.getByRole("button", { name: "Start workflow" }));
    await waitFor(() => expect(window.location.pathname).toBe("/workflows/wf-new"));
  });
});
