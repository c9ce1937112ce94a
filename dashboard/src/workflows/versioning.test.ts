import { describe, expect, it } from "vitest";
import { makeSummary, makeUpdate, makeWorkflow, referenceTasks } from "../test/fixtures";
import { applySnapshot, applyUpdateToSummary, applyUpdateToWorkflow, countTaskStatuses, mergePage } from "./versioning";

describe("applySnapshot (REST answers)", () => {
  it("shows the first answer", () => {
    const fetched = makeWorkflow({ version: 3 });
    expect(applySnapshot(null, fetched)).toBe(fetched);
  });

  it("drops an answer older than what is shown (a slow poll overtaken by a live update)", () => {
    const shown = makeWorkflow({ version: 8 });
    expect(applySnapshot(shown, makeWorkflow({ version: 7 }))).toBe(shown);
  });

  it("takes an answer at the same version: it carries details a WebSocket message lacks", () => {
    const shown = makeWorkflow({ version: 8 });
    const fetched = makeWorkflow({ version: 8, started_at: "2026-01-05T10:00:01.000Z" });
    expect(applySnapshot(shown, fetched)).toBe(fetched);
  });

  it("takes any answer about another workflow", () => {
    const fetched = makeWorkflow({ workflow_id: "wf-2", version: 1 });
    expect(applySnapshot(makeWorkflow({ version: 9 }), fetched)).toBe(fetched);
  });
});

describe("applyUpdateToWorkflow (WebSocket updates)", () => {
  const shown = makeWorkflow({ version: 5, tasks: referenceTasks({ A: "RUNNING" }) });

  it("applies a newer update's workflow and task statuses, keeping everything else", () => {
    const next = applyUpdateToWorkflow(shown, makeUpdate("wf-1", 6, "RUNNING", { A: "SUCCEEDED", B1: "READY" }));
    expect(next.version).toBe(6);
    expect(next.tasks.map((t) => [t.task_id, t.status])).toEqual([
      ["A", "SUCCEEDED"],
      ["B1", "READY"],
      ["B2", "PENDING"],
      ["B3", "PENDING"],
      ["C", "PENDING"],
    ]);
    expect(next.tasks[0]!.depends_on).toEqual([]);
    expect(next.tasks[4]!.depends_on).toEqual(["B1", "B2", "B3"]);
    expect(next.task_counts).toEqual({ SUCCEEDED: 1, READY: 1, PENDING: 3 });
    expect(next.input).toBe(shown.input);
  });

  it.each([
    ["an older", 4],
    ["a duplicated", 5],
  ])("ignores %s update", (_name, version) => {
    expect(applyUpdateToWorkflow(shown, makeUpdate("wf-1", version, "FAILED", { A: "FAILED" }))).toBe(shown);
  });

  it("ignores another workflow's update", () => {
    expect(applyUpdateToWorkflow(shown, makeUpdate("wf-2", 99, "FAILED"))).toBe(shown);
  });

  it("applies updates that arrive out of order only up to the newest", () => {
    let current = shown;
    for (const version of [8, 6, 7]) {
      current = applyUpdateToWorkflow(current, makeUpdate("wf-1", version, version === 8 ? "SUCCESS" : "RUNNING"));
    }
    expect(current.version).toBe(8);
    expect(current.status).toBe("SUCCESS");
  });
});

describe("summaries", () => {
  it("updates a row's status, version and task counts from a newer update", () => {
    const row = makeSummary({ version: 2 });
    const next = applyUpdateToSummary(row, makeUpdate("wf-1", 3, "SUCCESS", { A: "SUCCEEDED", B1: "SUCCEEDED" }));
    expect(next).toMatchObject({ status: "SUCCESS", version: 3, task_counts: { SUCCEEDED: 2 } });
    expect(applyUpdateToSummary(next, makeUpdate("wf-1", 3, "RUNNING"))).toBe(next);
  });

  it("keeps rows shown at a newer version than a refetched page", () => {
    const live = makeSummary({ workflow_id: "wf-1", version: 9, status: "SUCCESS" });
    const other = makeSummary({ workflow_id: "wf-2", version: 1 });
    const merged = mergePage([live], [makeSummary({ workflow_id: "wf-1", version: 8 }), other]);
    expect(merged[0]).toBe(live);
    expect(merged[1]).toBe(other);
  });

  it("counts task statuses", () => {
    expect(countTaskStatuses(["RUNNING", "RUNNING", "FAILED"])).toEqual({ RUNNING: 2, FAILED: 1 });
  });
});
