import { act } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { WorkflowPage } from "../api/types";
import { FakeWebSocket, createFakeApi, type FakeApi } from "../test/fakes";
import { makeSummary, makeUpdate } from "../test/fixtures";
import { advance, renderHookWithProviders, settle } from "../test/render";
import { LIST_REFETCH_DELAY_MS, PAGE_SIZE, useWorkflowList, type WorkflowListQuery } from "./useWorkflowList";

let api: FakeApi;

beforeEach(() => {
  vi.useFakeTimers();
  FakeWebSocket.reset();
  api = createFakeApi();
});
afterEach(() => {
  vi.useRealTimers();
});

const page = (...ids: string[]): WorkflowPage => ({
  items: ids.map((id) => makeSummary({ workflow_id: id, version: 1 })),
  next_cursor: "next",
});

async function renderList(query: WorkflowListQuery) {
  api.listWorkflows.mockResolvedValue(page("wf-2", "wf-1"));
  const hook = renderHookWithProviders((q: WorkflowListQuery) => useWorkflowList(q), api, query);
  await settle();
  act(() => FakeWebSocket.latest().open());
  await settle();
  api.listWorkflows.mockClear();
  return hook;
}

describe("useWorkflowList", () => {
  it("asks for one page with the filter and cursor", async () => {
    api.listWorkflows.mockResolvedValue(page("wf-2", "wf-1"));
    const { result } = renderHookWithProviders(() => useWorkflowList({ status: "FAILED", cursor: null }), api);
    await settle();
    expect(api.listWorkflows).toHaveBeenCalledWith(
      { status: "FAILED", cursor: null, limit: PAGE_SIZE },
      expect.any(AbortSignal),
    );
    expect(result.current.data?.items.map((i) => i.workflow_id)).toEqual(["wf-2", "wf-1"]);
  });

  it("updates a row live, and rereads when its status changed", async () => {
    const { result } = await renderList({ status: null, cursor: null });
    act(() => FakeWebSocket.latest().receive(makeUpdate("wf-1", 2, "SUCCESS", { A: "SUCCEEDED" })));
    expect(result.current.data?.items[1]).toMatchObject({ status: "SUCCESS", version: 2, task_counts: { SUCCEEDED: 1 } });
    await advance(LIST_REFETCH_DELAY_MS);
    expect(api.listWorkflows).toHaveBeenCalledTimes(1);
  });

  it("does not reread when only task statuses changed", async () => {
    await renderList({ status: null, cursor: null });
    act(() => FakeWebSocket.latest().receive(makeUpdate("wf-1", 2, "RUNNING", { A: "SUCCEEDED" })));
    await advance(LIST_REFETCH_DELAY_MS);
    expect(api.listWorkflows).not.toHaveBeenCalled();
  });

  it("rereads the first page when a workflow it does not show appears", async () => {
    await renderList({ status: null, cursor: null });
    act(() => FakeWebSocket.latest().receive(makeUpdate("wf-3", 1, "PENDING")));
    await advance(LIST_REFETCH_DELAY_MS);
    expect(api.listWorkflows).toHaveBeenCalledTimes(1);
  });

  it.each([
    ["a later page", { status: null, cursor: "c1" }],
    ["a filter the workflow does not pass", { status: "FAILED", cursor: null }],
  ] as const)("does not reread %s for an unknown workflow", async (_name, query) => {
    await renderList(query);
    act(() => FakeWebSocket.latest().receive(makeUpdate("wf-3", 1, "PENDING")));
    await advance(LIST_REFETCH_DELAY_MS);
    expect(api.listWorkflows).not.toHaveBeenCalled();
  });

  it("starts from nothing when the query changes", async () => {
    const { result, rerender } = await renderList({ status: null, cursor: null });
    api.listWorkflows.mockReturnValue(new Promise(() => {}));
    rerender({ status: null, cursor: "next" });
    expect(result.current).toMatchObject({ loading: true, data: null });
  });
});
