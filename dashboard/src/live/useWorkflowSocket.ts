import { useEffect, useRef, useState } from "react";
import type { WorkflowUpdate } from "../api/types";
import { parseWorkflowUpdate } from "./messages";

/**
 * connecting: first attempt under way. live: open and subscribed. reconnecting: lost, retrying
 * with backoff. offline: no URL configured, the browser is offline, or several attempts in a row
 * failed (it still retries, at the longest delay).
 */
export type ConnectionStatus = "connecting" | "live" | "reconnecting" | "offline";

export interface BackoffOptions {
  initialDelayMs: number;
  maxDelayMs: number;
  /** From this many failures in a row (a drop counts as one), the indicator says Offline, not Reconnecting. */
  offlineAfterFailures: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialDelayMs: 1000, maxDelayMs: 30_000, offlineAfterFailures: 5 };

/** Exponential backoff with "equal jitter": half fixed, half random, so that many dashboards
 * dropped together by a gateway restart do not all come back in the same instant. */
export function reconnectDelay(failures: number, backoff: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxDelayMs, backoff.initialDelayMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export interface WorkflowSocketOptions {
  url: string | null;
  onUpdate: (update: WorkflowUpdate) => void;
  /** Called on every successful open, the first included: whatever happened while no socket was
   * listening is unknown, so callers refetch over REST. */
  onOpen?: () => void;
  backoff?: BackoffOptions;
  createSocket?: (url: string) => WebSocket;
  random?: () => number;
}

/** One WebSocket subscribed to every workflow, reconnected with backoff; returns its status. */
export function useWorkflowSocket(options: WorkflowSocketOptions): ConnectionStatus {
  const { url } = options;
  // The status belongs to a URL: a new URL reads as "connecting" until its socket reports.
  const [reported, setReported] = useState<{ url: string | null; status: ConnectionStatus }>({
    url,
    status: "connecting",
  });
  // Callbacks change identity on every render; read them through a ref so that a re-render never
  // tears down a healthy connection.
  const latest = useRef(options);
  useEffect(() => {
    latest.current = options;
  });

  useEffect(() => {
    if (!url) return;
    const setStatus = (status: ConnectionStatus) => setReported({ url, status });
    const { backoff = DEFAULT_BACKOFF, createSocket = (u: string) => new WebSocket(u), random = Math.random } =
      latest.current;
    let socket: WebSocket | null = null;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    let disposed = false;

    function connect() {
      retryTimer = undefined;
      try {
        socket = createSocket(url as string);
      } catch {
        // A malformed URL throws synchronously; treat it like a failed attempt.
        scheduleReconnect();
        return;
      }
      const current = socket;
      // Handlers of a socket this effect has given up (a new URL, unmount) do nothing.
      const stale = () => disposed || socket !== current;
      current.addEventListener("open", () => {
        if (stale()) return;
        failures = 0;
        setStatus("live");
        // All workflows is the default after $connect; saying so keeps the intent explicit.
        current.send(JSON.stringify({ action: "subscribe", workflow_id: "*" }));
        latest.current.onOpen?.();
      });
      current.addEventListener("message", (event: MessageEvent) => {
        if (stale()) return;
        const update = parseWorkflowUpdate(event.data);
        if (update) latest.current.onUpdate(update);
      });
      // An error is always followed by close, which is where the retry is planned.
      current.addEventListener("close", () => {
        if (stale()) return;
        socket = null;
        scheduleReconnect();
      });
    }

    function scheduleReconnect() {
      failures += 1;
      const offline = failures >= backoff.offlineAfterFailures || !navigator.onLine;
      setStatus(offline ? "offline" : "reconnecting");
      retryTimer = setTimeout(connect, reconnectDelay(failures, backoff, random));
    }

    // Back online: try now rather than wait out a long backoff.
    function handleOnline() {
      if (retryTimer === undefined) return;
      clearTimeout(retryTimer);
      setStatus("reconnecting");
      connect();
    }

    window.addEventListener("online", handleOnline);
    connect();
    return () => {
      disposed = true;
      window.removeEventListener("online", handleOnline);
      clearTimeout(retryTimer);
      socket?.close();
    };
  }, [url]);

  if (!url) return "offline";
  return reported.url === url ? reported.status : "connecting";
}
