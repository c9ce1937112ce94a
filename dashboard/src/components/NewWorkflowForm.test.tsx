import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { ApiProvider } from "../api/ApiContext";
import { ApiError } from "../api/client";
import type { Definition, Workflow } from "../api/types";
import { createFakeApi, type FakeApi } from "../test/fakes";
import { makeWorkflow } from "../test/fixtures";
import { NewWorkflowForm, fieldForPath } from "./NewWorkflowForm";

const DEFINITIONS: Definition[] = [
  { name: "fan-out", description: "Wide", tasks: [{ id: "X", function: "task-a", depends_on: [] }] },
  {
    name: "orchestra",
    description: "The reference workflow",
    tasks: ["A", "B1", "B2", "B3", "C"].map((id) => ({ id, function: `task-${id.toLowerCase()}`, depends_on: [] })),
  },
];

let api: FakeApi;
beforeEach(() => {
  api = createFakeApi();
  api.listDefinitions.mockResolvedValue(DEFINITIONS);
});

function renderForm() {
  const onCreated = vi.fn<(workflow: Workflow) => void>();
  const onCancel = vi.fn<() => void>();
  render(
    <ApiProvider client={api}>
      <NewWorkflowForm onCreated={onCreated} onCancel={onCancel} />
    </ApiProvider>,
  );
  return { onCreated, onCancel, user: userEvent.setup() };
}

describe("NewWorkflowForm", () => {
  it("offers the API's definitions, the reference one first chosen", async () => {
    renderForm();
    const picker = screen.getByLabelText("Definition");
    await waitFor(() => expect(picker).toHaveValue("orchestra"));
    expect(screen.getByRole("option", { name: "fan-out" })).toBeInTheDocument();
    expect(screen.getByText(/The reference workflow \(A, B1, B2, B3, C\)/)).toBeInTheDocument();
  });

  it("starts a workflow with the chosen definition, id and input", async () => {
    const { onCreated, user } = renderForm();
    const created = makeWorkflow({ workflow_id: "my-run" });
    api.createWorkflow.mockResolvedValue({ workflow: created, created: true });
    await waitFor(() => expect(screen.getByLabelText("Definition")).toHaveValue("orchestra"));

    await user.selectOptions(screen.getByLabelText("Definition"), "fan-out");
    await user.type(screen.getByLabelText(/Workflow id/), "my-run");
    await user.type(screen.getByLabelText(/Input \(JSON\)/), '{{"n": 1}');
    await user.click(screen.getByRole("button", { name: "Start workflow" }));

    expect(api.createWorkflow).toHaveBeenCalledWith({ definition: "fan-out", workflowId: "my-run", input: { n: 1 } });
    await waitFor(() => expect(onCreated).toHaveBeenCalledWith(created));
  });

  it("sends neither id nor input when they are left empty", async () => {
    const { user } = renderForm();
    api.createWorkflow.mockResolvedValue({ workflow: makeWorkflow(), created: true });
    await waitFor(() => expect(screen.getByLabelText("Definition")).toHaveValue("orchestra"));
    await user.click(screen.getByRole("button", { name: "Start workflow" }));
    expect(api.createWorkflow).toHaveBeenCalledWith({ definition: "orchestra" });
  });

  it("shows the API's validation errors next to their fields, the rest above", async () => {
    const { onCreated, user } = renderForm();
    api.createWorkflow.mockRejectedValue(
      new ApiError(400, "validation_error", "The request is not valid.", [
        { field: "workflowId", message: "must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$" },
        { field: "$.input.simulate", message: "must be an object" },
        { field: "priority", message: "is not a known field" },
      ]),
    );
    await user.type(screen.getByLabelText(/Workflow id/), "-bad");
    await user.click(screen.getByRole("button", { name: "Start workflow" }));

    const summary = await screen.findByTestId("form-error");
    expect(summary).toHaveTextContent("The request is not valid.");
    expect(summary).toHaveTextContent("priority: is not a known field");
    expect(summary).not.toHaveTextContent("must be an object");

    const idField = screen.getByLabelText(/Workflow id/);
    expect(idField).toHaveAttribute("aria-invalid", "true");
    expect(idField).toHaveAccessibleDescription(expect.stringContaining("must match"));
    expect(screen.getByLabelText(/Input \(JSON\)/)).toHaveAccessibleDescription(
      expect.stringContaining("must be an object"),
    );
    expect(onCreated).not.toHaveBeenCalled();
  });

  it("says when the id is taken by another workflow (409)", async () => {
    const { user } = renderForm();
    api.createWorkflow.mockRejectedValue(
      new ApiError(409, "conflict", "Workflow my-run exists with another body."),
    );
    await user.click(screen.getByRole("button", { name: "Start workflow" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Workflow my-run exists with another body.");
  });

  it("refuses input that is not JSON, before asking the API", async () => {
    const { user } = renderForm();
    await user.type(screen.getByLabelText(/Input \(JSON\)/), "{{oops");
    await user.click(screen.getByRole("button", { name: "Start workflow" }));
    const input = screen.getByLabelText(/Input \(JSON\)/);
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(input).toHaveAccessibleDescription(expect.stringContaining("Not valid JSON"));
    expect(api.createWorkflow).not.toHaveBeenCalled();
  });

  it("still starts the default definition when definitions cannot be loaded", async () => {
    api.listDefinitions.mockRejectedValue(new ApiError(0, "network_error", "unreachable"));
    api.createWorkflow.mockResolvedValue({ workflow: makeWorkflow(), created: true });
    const { user } = renderForm();
    expect(await screen.findByText(/Could not load definitions/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Start workflow" }));
    expect(api.createWorkflow).toHaveBeenCalledWith({});
  });
});

describe("fieldForPath", () => {
  it.each([
    ["workflowId", "workflowId"],
    ["workflow_id", "workflowId"],
    ["$.workflowId", "workflowId"],
    ["body.definition", "definition"],
    ["definition.tasks[0].id", "definition"],
    ["/input/simulate", "input"],
    ["input", "input"],
    ["priority", null],
    ["", null],
  ])("maps %s to %s", (path, field) => {
    expect(fieldForPath(path)).toBe(field);
  });
});
