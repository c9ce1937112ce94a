import { act, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { WorkflowUpdate } from "../api/types";
import { FakeWebSocket, TEST_SOCKET_OPTIONS } from "../test/fakes";
import { makeUpdate } from "../test/fixtures";
import { DEFAULT_BACKOFF, reconnectDelay, useWorkflowSocket } from "./useWorkflowSocket";

const URL = "wss://ws.example.test/prod";

function renderSocket(url: string | null = URL) {
  const onUpdate = vi.fn<(update: WorkflowUpdate) => void>();
  const onOpen = vi.fn<() => void>();
  const hook = renderHook(
    ({ socketUrl }: { socketUrl: string | null }) =>
      useWorkflowSocket({ url: socketUrl, onUpdate, onOpen, ...TEST_SOCKET_OPTIONS }),
    { initialProps: { socketUrl: url } },
  );
  return { ...hook, onUpdate, onOpen };
}

beforeEach(() => {
  FakeWebSocket.reset();
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("connecting", () => {
  it("is Connecting, then Live once open, and subscribes to every workflow", () => {
    const { result, onOpen } = renderSocket();
    expect(result.current).toBe("connecting");
    expect(FakeWebSocket.latest().url).toBe(URL);

    act(() => FakeWebSocket.latest().open());
    expect(result.current).toBe("live");
    expect(FakeWebSocket.latest().sent).toEqual([{ action: "subscribe", workflow_id: "*" }]);
    expect(onOpen).toHaveBeenCalledTimes(1);
  });

  it("is Offline without a URL and opens nothing", () => {
    const { result } = renderSocket(null);
    expect(result.current).toBe("offline");
    expect(FakeWebSocket.instances).toHaveLength(0);
  });

  it("closes its socket and plans no reconnect when unmounted", () => {
    const { unmount } = renderSocket();
    const socket = FakeWebSocket.latest();
    act(() => socket.open());
    unmount();
    expect(socket.closedByClient).toBe(true);
    act(() => vi.advanceTimersByTime(60_000));
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  it("moves to a new socket when the URL changes", () => {
    const { rerender, result } = renderSocket();
    const first = FakeWebSocket.latest();
    act(() => first.open());
    rerender({ socketUrl: "wss://other.test/prod" });
    expect(first.closedByClient).toBe(true);
    expect(FakeWebSocket.latest().url).toBe("wss://other.test/prod");
    expect(result.current).toBe("connecting");
  });
});

describe("messages", () => {
  it("passes workflow updates on, in order of arrival", () => {
    const { onUpdate } = renderSocket();
    const socket = FakeWebSocket.latest();
    act(() => socket.open());
    const first = makeUpdate("wf-1", 2, "RUNNING", { A: "RUNNING" });
    const second = makeUpdate("wf-1", 3, "RUNNING", { A: "SUCCEEDED" });
    act(() => {
      socket.receive(first);
      socket.receive(second);
    });
    expect(onUpdate.mock.calls.map(([update]) => update)).toEqual([first, second]);
  });

  it("drops frames that are not well-formed updates", () => {
    const { onUpdate } = renderSocket();
    const socket = FakeWebSocket.latest();
    act(() => socket.open());
    act(() => {
      socket.receive("not json");
      socket.receive({ type: "something_else" });
      socket.receive({ type: "workflow_update", workflow_id: "wf-1", data: { status: "RUNNING", tasks: [] } });
    });
    expect(onUpdate).not.toHaveBeenCalled();
  });
});

describe("reconnecting", () => {
  it("says Reconnecting when dropped, waits out the backoff, and is Live again", () => {
    const { result, onOpen } = renderSocket();
    act(() => FakeWebSocket.latest().open());
    act(() => FakeWebSocket.latest().drop());
    expect(result.current).toBe("reconnecting");
    expect(FakeWebSocket.instances).toHaveLength(1);

    act(() => vi.advanceTimersByTime(999));
    expect(FakeWebSocket.instances).toHaveLength(1);
    act(() => vi.advanceTimersByTime(1));
    expect(FakeWebSocket.instances).toHaveLength(2);

    act(() => FakeWebSocket.latest().open());
    expect(result.current).toBe("live");
    // A reopened socket means updates may have been missed: callers refetch on every open.
    expect(onOpen).toHaveBeenCalledTimes(2);
  });

  it("doubles the delay after each failed attempt, up to the maximum", () => {
    renderSocket();
    const delays: number[] = [];
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const before = FakeWebSocket.instances.length;
      act(() => FakeWebSocket.latest().drop());
      let waited = 0;
      while (FakeWebSocket.instances.length === before) {
        act(() => vi.advanceTimersByTime(100));
        waited += 100;
      }
      delays.push(waited);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 8000]);
  });

  it("says Offline after several failures in a row, keeps trying, and recovers", () => {
    const { result } = renderSocket();
    for (let failures = 1; failures < 3; failures += 1) {
      act(() => FakeWebSocket.latest().drop());
      expect(result.current).toBe("reconnecting");
      act(() => vi.advanceTimersByTime(8000));
    }
    act(() => FakeWebSocket.latest().drop());
    expect(result.current).toBe("offline");
    act(() => vi.advanceTimersByTime(8000));
    act(() => FakeWebSocket.latest().open());
    expect(result.current).toBe("live");
  });

  it("starts over from the shortest delay after a successful open", () => {
    renderSocket();
    act(() => FakeWebSocket.latest().drop());
    act(() => vi.advanceTimersByTime(1000));
    act(() => FakeWebSocket.latest().drop());
    act(() => vi.advanceTimersByTime(2000));
    act(() => FakeWebSocket.latest().open());
    const count = FakeWebSocket.instances.length;
    act(() => FakeWebSocket.latest().drop());
    act(() => vi.advanceTimersByTime(1000));
    expect(FakeWebSocket.instances).toHaveLength(count + 1);
  });

  it("retries at once when the browser comes back online", () => {
    renderSocket();
    act(() => FakeWebSocket.latest().drop());
    act(() => FakeWebSocket.latest().drop()); // a dropped socket is not dropped twice
    expect(FakeWebSocket.instances).toHaveLength(1);
    act(() => {
      window.dispatchEvent(new Event("online"));
    });
    expect(FakeWebSocket.instances).toHaveLength(2);
  });
});

describe("reconnectDelay", () => {
  it("spreads clients between half and all of the exponential delay", () => {
    expect(reconnectDelay(1, DEFAULT_BACKOFF, () => 0)).toBe(500);
    expect(reconnectDelay(1, DEFAULT_BACKOFF, () => 1)).toBe(1000);
    expect(reconnectDelay(3, DEFAULT_BACKOFF, () => 1)).toBe(4000);
    expect(reconnectDelay(20, DEFAULT_BACKOFF, () => 1)).toBe(30_000);
  });
});
