import { vi } from "vitest";
import type { ApiClient } from "../api/client";

/** A WebSocket the test drives: open it, push messages, drop it. Every instance is recorded. */
export class FakeWebSocket extends EventTarget {
  static instances: FakeWebSocket[] = [];
  static latest(): FakeWebSocket {
    const socket = FakeWebSocket.instances[FakeWebSocket.instances.length - 1];
    if (!socket) throw new Error("no WebSocket was created");
    return socket;
  }
  static reset(): void {
    FakeWebSocket.instances = [];
  }

  readyState = 0;
  readonly sent: unknown[] = [];
  closedByClient = false;

  constructor(readonly url: string) {
    super();
    FakeWebSocket.instances.push(this);
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(): void {
    this.closedByClient = true;
    this.finish();
  }

  // ---- the server's side ----
  open(): void {
    this.readyState = 1;
    this.dispatchEvent(new Event("open"));
  }

  receive(message: unknown): void {
    const data = typeof message === "string" ? message : JSON.stringify(message);
    this.dispatchEvent(new MessageEvent("message", { data }));
  }

  /** The gateway closes the connection (or a connection attempt fails). */
  drop(): void {
    this.dispatchEvent(new Event("error"));
    this.finish();
  }

  private finish(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.dispatchEvent(new CloseEvent("close"));
  }
}

export const createFakeSocket = (url: string) => new FakeWebSocket(url) as unknown as WebSocket;

/** Backoff without jitter, so tests know exactly when a reconnect happens. */
export const TEST_SOCKET_OPTIONS = {
  createSocket: createFakeSocket,
  random: () => 1,
  backoff: { initialDelayMs: 1000, maxDelayMs: 8000, offlineAfterFailures: 3 },
};

const pending = () => new Promise<never>(() => {});

export type FakeApi = { [K in keyof ApiClient]: ReturnType<typeof vi.fn<ApiClient[K]>> };

/** An ApiClient whose every method is a mock; unmocked calls never resolve. */
export function createFakeApi(): FakeApi {
  return {
    listWorkflows: vi.fn<ApiClient["listWorkflows"]>(pending),
    getWorkflow: vi.fn<ApiClient["getWorkflow"]>(pending),
    createWorkflow: vi.fn<ApiClient["createWorkflow"]>(pending),
    cancelWorkflow: vi.fn<ApiClient["cancelWorkflow"]>(pending),
    retryWorkflow: vi.fn<ApiClient["retryWorkflow"]>(pending),
    listDefinitions: vi.fn<ApiClient["listDefinitions"]>(pending),
  };
}
