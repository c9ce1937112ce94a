import { createContext, useCallback, useContext, useEffect, useMemo, useRef, type ReactNode } from "react";
import type { WorkflowUpdate } from "../api/types";
import { useWorkflowSocket, type ConnectionStatus, type WorkflowSocketOptions } from "./useWorkflowSocket";

export interface LiveListener {
  onUpdate?(update: WorkflowUpdate): void;
  /** The socket (re)opened: refetch, since updates may have been missed meanwhile. */
  onConnected?(): void;
}

interface LiveUpdatesValue {
  status: ConnectionStatus;
  subscribe(listener: LiveListener): () => void;
}

const LiveUpdatesContext = createContext<LiveUpdatesValue | null>(null);

type ProviderProps = Omit<WorkflowSocketOptions, "onUpdate" | "onOpen"> & { children: ReactNode };

/** Owns the app's single WebSocket and fans its messages out to the views that listen. */
export function LiveUpdatesProvider({ children, ...socketOptions }: ProviderProps) {
  const listeners = useRef(new Set<LiveListener>());
  const status = useWorkflowSocket({
    ...socketOptions,
    onUpdate: (update) => listeners.current.forEach((listener) => listener.onUpdate?.(update)),
    onOpen: () => listeners.current.forEach((listener) => listener.onConnected?.()),
  });
  const subscribe = useCallback((listener: LiveListener) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);
  const value = useMemo(() => ({ status, subscribe }), [status, subscribe]);
  return <LiveUpdatesContext.Provider value={value}>{children}</LiveUpdatesContext.Provider>;
}

/** Listens to live updates; returns the connection status ("offline" outside a provider). */
export function useLiveUpdates(listener: LiveListener = {}): ConnectionStatus {
  const context = useContext(LiveUpdatesContext);
  const latest = useRef(listener);
  useEffect(() => {
    latest.current = listener;
  });
  const subscribe = context?.subscribe;
  useEffect(
    () =>
      subscribe?.({
        onUpdate: (update) => latest.current.onUpdate?.(update),
        onConnected: () => latest.current.onConnected?.(),
      }),
    [subscribe],
  );
  return context?.status ?? "offline";
}
