import { useCallback, useEffect, useRef, useState } from "react";
import { toApiError, type ApiError } from "../api/client";
import type { WorkflowUpdate } from "../api/types";
import { useLiveUpdates } from "./LiveUpdates";
import { usePolling } from "./usePolling";
import type { ConnectionStatus } from "./useWorkflowSocket";

export interface LiveResourceOptions<T> {
  /** Names what is loaded (a workflow id, a list query); a new key starts from nothing. */
  key: string;
  load: (signal: AbortSignal) => Promise<T>;
  /** What to show once a REST read arrives, given what is shown (the version rules live here). */
  merge: (shown: T | null, fetched: T) => T;
  /** What a live update changes: the value to show (the same object when nothing changes) and
   * whether to reread over REST soon, for what the message does not carry. */
  applyUpdate: (shown: T | null, update: WorkflowUpdate) => { next: T | null; refetch: boolean };
  /** Rereads asked for by updates wait this long, so that a burst of updates costs one read. */
  refetchDelayMs: number;
}

export interface LiveResource<T> {
  data: T | null;
  /** The last failed read; with data shown, a failed refresh rather than a missing page. */
  error: ApiError | null;
  loading: boolean;
  connection: ConnectionStatus;
  refresh: () => Promise<void>;
  /** Shows a value obtained elsewhere (an action's answer), subject to `merge`. */
  accept: (fetched: T) => void;
}

interface State<T> {
  key: string;
  data: T | null;
  error: ApiError | null;
  loading: boolean;
}

const initial = <T,>(key: string): State<T> => ({ key, data: null, error: null, loading: true });

/**
 * A REST resource kept current three ways: WebSocket updates as they come, a reread whenever the
 * socket (re)opens (updates may have been missed while it was down), and polling while it is
 * not live, so the page stays correct without it.
 */
export function useLiveResource<T>({ key, load, merge, applyUpdate, refetchDelayMs }: LiveResourceOptions<T>): LiveResource<T> {
  const [stored, setState] = useState<State<T>>(() => initial(key));
  // State left from another key reads as "loading" until this key's first answer.
  const state = stored.key === key ? stored : initial<T>(key);
  // Event handlers decide on the latest value shown, not the one of their render.
  const shown = useRef<{ key: string; data: T | null }>({ key, data: null });
  const abort = useRef<AbortController | null>(null);
  const refetchTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const options = useRef({ load, merge, applyUpdate, refetchDelayMs });
  useEffect(() => {
    options.current = { load, merge, applyUpdate, refetchDelayMs };
  });

  const update = useCallback(
    (change: Partial<State<T>>) =>
      setState((previous) => ({ ...(previous.key === key ? previous : initial<T>(key)), ...change })),
    [key],
  );

  const show = useCallback(
    (next: T | null) => {
      const current = shown.current.key === key ? shown.current.data : null;
      if (next === current) return;
      shown.current = { key, data: next };
      update({ data: next });
    },
    [key, update],
  );

  const accept = useCallback(
    (fetched: T) => show(options.current.merge(shown.current.key === key ? shown.current.data : null, fetched)),
    [key, show],
  );

  const refresh = useCallback(async () => {
    const signal = abort.current?.signal;
    if (!signal || signal.aborted) return;
    try {
      const fetched = await options.current.load(signal);
      if (signal.aborted) return;
      accept(fetched);
      update({ error: null, loading: false });
    } catch (caught) {
      if (signal.aborted) return;
      update({ error: toApiError(caught), loading: false });
    }
  }, [accept, update]);

  const scheduleRefetch = useCallback(() => {
    if (refetchTimer.current !== undefined) return;
    refetchTimer.current = setTimeout(() => {
      refetchTimer.current = undefined;
      void refresh();
    }, options.current.refetchDelayMs);
  }, [refresh]);

  useEffect(() => {
    const controller = new AbortController();
    abort.current = controller;
    shown.current = { key, data: null };
    // refresh sets state only once its read has answered, never synchronously.
    // oxlint-disable-next-line react/set-state-in-effect
    void refresh();
    return () => {
      controller.abort();
      clearTimeout(refetchTimer.current);
      refetchTimer.current = undefined;
    };
  }, [key, refresh]);

  const connection = useLiveUpdates({
    onUpdate(message) {
      const current = shown.current.key === key ? shown.current.data : null;
      const { next, refetch } = options.current.applyUpdate(current, message);
      show(next);
      if (refetch) scheduleRefetch();
    },
    onConnected() {
      void refresh();
    },
  });

  usePolling(() => void refresh(), connection !== "live");

  return { data: state.data, error: state.error, loading: state.loading, connection, refresh, accept };
}
