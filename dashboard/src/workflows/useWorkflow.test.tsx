import { act } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/client";
import type { Workflow } from "../api/types";
import { POLL_INTERVAL_MS } from "../live/usePolling";
import { FakeWebSocket, createFakeApi, type FakeApi } from "../test/fakes";
import { makeUpdate, makeWorkflow, referenceTasks } from "../test/fixtures";
import { advance, deferred, renderHookWithProviders, settle } from "../test/render";
import { DETAIL_REFETCH_DELAY_MS, useWorkflow } from "./useWorkflow";

let api: FakeApi;

beforeEach(() => {
  vi.useFakeTimers();
  FakeWebSocket.reset();
  api = createFakeApi();
});
afterEach(() => {
  vi.useRealTimers();
});

async function renderLive(first: Workflow = makeWorkflow({ version: 1 })) {
  api.getWorkflow.mockResolvedValue(first);
  const hook = renderHookWithProviders(() => useWorkflow("wf-1"), api);
  await settle();
  act(() => FakeWebSocket.latest().open());
  await settle();
  api.getWorkflow.mockClear();
  return hook;
}

describe("loading", () => {
  it("is loading, then shows the workflow read over REST", async () => {
    const answer = deferred<Workflow>();
    api.getWorkflow.mockReturnValue(answer.promise);
    const { result } = renderHookWithProviders(() => useWorkflow("wf-1"), api);
    expect(result.current).toMatchObject({ loading: true, data: null });
    expect(api.getWorkflow).toHaveBeenCalledWith("wf-1", expect.any(AbortSignal));

    answer.resolve(makeWorkflow({ version: 4 }));
    await settle();
    expect(result.current.loading).toBe(false);
    expect(result.current.data?.version).toBe(4);
  });

  it("reports a missing workflow", async () => {
    api.getWorkflow.mockRejectedValue(new ApiError(404, "not_found", "No workflow wf-1."));
    const { result } = renderHookWithProviders(() => useWorkflow("wf-1"), api);
    await settle();
    expect(result.current).toMatchObject({ loading: false, data: null, error: { status: 404 } });
  });

  it("keeps showing the workflow when a later read fails, and says so", async () => {
    const { result } = await renderLive();
    api.getWorkflow.mockRejectedValue(new ApiError(0, "network_error", "unreachable"));
    await act(() => result.current.refresh());
    expect(result.current.data?.version).toBe(1);
    expect(result.current.error?.code).toBe("network_error");
  });
});

describe("live updates", () => {
  it("applies a newer update at once, then rereads the details over REST", async () => {
    const { result } = await renderLive();
    api.getWorkflow.mockResolvedValue(makeWorkflow({ version: 2, tasks: referenceTasks({ A: "RUNNING" }) }));

    act(() => FakeWebSocket.latest().receive(makeUpdate("wf-1", 2, "RUNNING", { A: "RUNNING" })));
    expect(result.current.data?.version).toBe(2);
    expect(result.current.data?.tasks[0]?.status).toBe("RUNNING");
    expect(api.getWorkflow).not.toHaveBeenCalled();

    await advance(DETAIL_REFETCH_DELAY_MS);
    expect(api.getWorkflow).toHaveBeenCalledTimes(1);
  });

  it("rereads once for a burst of updates", async () => {
    await renderLive();
    api.getWorkflow.mockResolvedValue(makeWorkflow({ version: 4 }));
    act(() => {
      for (const version of [2, 3, 4]) FakeWebSocket.latest().receive(makeUpdate("wf-1", version, "RUNNING"));
    });
    await advance(DETAIL_REFETCH_DELAY_MS);
    expect(api.getWorkflow).toHaveBeenCalledTimes(1);
  });

  it("ignores stale and duplicated updates", async () => {
    const { result } = await renderLive(makeWorkflow({ version: 5 }));
    const shown = result.current.data;
    act(() => {
      FakeWebSocket.latest().receive(makeUpdate("wf-1", 4, "FAILED", { A: "FAILED" }));
      FakeWebSocket.latest().receive(makeUpdate("wf-1", 5, "FAILED", { A: "FAILED" }));
    });
    expect(result.current.data).toBe(shown);
    await advance(DETAIL_REFETCH_DELAY_MS);
    expect(api.getWorkflow).not.toHaveBeenCalled();
  });

  it("ignores other workflows' updates", async () => {
    const { result } = await renderLive();
    act(() => FakeWebSocket.latest().receive(makeUpdate("wf-2", 9, "FAILED")));
    expect(result.current.data?.version).toBe(1);
  });

  it("does not roll back to an older REST answer that arrives after a newer update", async () => {
    const { result } = await renderLive();
    const slowPoll = deferred<Workflow>();
    api.getWorkflow.mockReturnValue(slowPoll.promise);
    const refreshing = result.current.refresh();

    act(() => FakeWebSocket.latest().receive(makeUpdate("wf-1", 3, "SUCCESS", { A: "SUCCEEDED" })));
    slowPoll.resolve(makeWorkflow({ version: 2, status: "RUNNING" }));
    await act(() => refreshing);

    expect(result.current.data).toMatchObject({ version: 3, status: "SUCCESS" });
  });
});

describe("without the WebSocket", () => {
  it("rereads when the socket comes back", async () => {
    await renderLive();
    act(() => FakeWebSocket.latest().drop());
    await advance(1000);
    act(() => FakeWebSocket.latest().open());
    await settle();
    expect(api.getWorkflow).toHaveBeenCalled();
  });

  it("polls while the socket is down, and stops once it is live again", async () => {
    const { result } = await renderLive();
    api.getWorkflow.mockResolvedValue(makeWorkflow({ version: 7, status: "SUCCESS" }));
    // A long way from reconnecting: the first retry fails, the next waits 2 s, then 4 s...
    act(() => FakeWebSocket.latest().drop());
    expect(result.current.connection).toBe("reconnecting");

    await advance(POLL_INTERVAL_MS);
    expect(api.getWorkflow).toHaveBeenCalled();
    expect(result.current.data?.version).toBe(7);

    act(() => FakeWebSocket.latest().open());
    await settle();
    api.getWorkflow.mockClear();
    await advance(POLL_INTERVAL_MS * 3);
    expect(api.getWorkflow).not.toHaveBeenCalled();
  });

  it("keeps polling with no WebSocket at all", async () => {
    api.getWorkflow.mockResolvedValue(makeWorkflow());
    const { renderHook } = await import("@testing-library/react");
    const { ApiProvider } = await import("../api/ApiContext");
    const { result } = renderHook(() => useWorkflow("wf-1"), {
      wrapper: ({ children }) => <ApiProvider client={api}>{children}</ApiProvider>,
    });
    await settle();
    expect(result.current.connection).toBe("offline");
    api.getWorkflow.mockClear();
    await advance(POLL_INTERVAL_MS * 2);
    expect(api.getWorkflow).toHaveBeenCalledTimes(2);
  });
});
