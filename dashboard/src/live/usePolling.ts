import { useEffect, useRef } from "react";

/** How often views re-read the REST API while the WebSocket is not live. */
export const POLL_INTERVAL_MS = 5000;

/** Calls `poll` every `intervalMs` while `active` (skipping ticks while the tab is hidden). */
export function usePolling(poll: () => void, active: boolean, intervalMs: number = POLL_INTERVAL_MS): void {
  const latest = useRef(poll);
  useEffect(() => {
    latest.current = poll;
  });
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => {
      if (document.visibilityState !== "hidden") latest.current();
    }, intervalMs);
    return () => clearInterval(timer);
  }, [active, intervalMs]);
}
