import { describe, expect, it } from "vitest";
import { makeUpdate } from "../test/fixtures";
import { parseWorkflowUpdate } from "./messages";

describe("parseWorkflowUpdate", () => {
  it("reads the contract's workflow_update", () => {
    const update = makeUpdate("wf-1", 7, "RUNNING", { A: "SUCCEEDED", B1: "RUNNING" });
    expect(parseWorkflowUpdate(JSON.stringify(update))).toEqual(update);
  });

  it.each([
    ["not JSON", "{"],
    ["another message type", JSON.stringify({ type: "hello" })],
    ["no version", JSON.stringify({ ...makeUpdate("wf-1", 1, "RUNNING"), data: { workflow_id: "wf-1", status: "RUNNING", tasks: [] } })],
    ["a string version", JSON.stringify({ type: "workflow_update", workflow_id: "wf-1", data: { status: "RUNNING", version: "7", tasks: [] } })],
    ["tasks without taskId", JSON.stringify({ type: "workflow_update", workflow_id: "wf-1", data: { status: "RUNNING", version: 7, tasks: [{ status: "RUNNING" }] } })],
    ["no workflow_id", JSON.stringify({ type: "workflow_update", data: { status: "RUNNING", version: 7, tasks: [] } })],
  ])("drops %s", (_name, frame) => {
    expect(parseWorkflowUpdate(frame)).toBeNull();
  });

  it("drops binary frames", () => {
    expect(parseWorkflowUpdate(new ArrayBuffer(4))).toBeNull();
  });
});
