import { describe, expect, it } from "vitest";
import { matchRoute, workflowHref } from "./router";

describe("matchRoute", () => {
  it.each([
    ["/", { name: "list" }],
    ["/workflows", { name: "list" }],
    ["/workflows/wf-1", { name: "workflow", workflowId: "wf-1" }],
    ["/workflows/wf-1/", { name: "workflow", workflowId: "wf-1" }],
    ["/workflows/a%20b", { name: "workflow", workflowId: "a b" }],
    ["/workflows/wf-1/tasks", { name: "not-found" }],
    ["/elsewhere", { name: "not-found" }],
  ])("reads %s", (path, route) => {
    expect(matchRoute(path)).toEqual(route);
  });

  it("builds links that read back to the same id", () => {
    const id = "run.2026-01-05_a";
    expect(matchRoute(workflowHref(id))).toEqual({ name: "workflow", workflowId: id });
  });
});
