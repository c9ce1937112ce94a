import { useCallback } from "react";
import { useApi } from "../api/ApiContext";
import type { WorkflowPage, WorkflowStatus, WorkflowUpdate } from "../api/types";
import { useLiveResource, type LiveResource } from "../live/useLiveResource";
import { applyUpdateToSummary, mergePage } from "./versioning";

export const PAGE_SIZE = 20;
/** Rows that changed status, or workflows new to the first page, are reread together. */
export const LIST_REFETCH_DELAY_MS = 1000;

export interface WorkflowListQuery {
  status: WorkflowStatus | null;
  /** The opaque `next_cursor` of the page before; null for the first page. */
  cursor: string | null;
}

/** One page of workflows, kept current (see useLiveResource). */
export function useWorkflowList({ status, cursor }: WorkflowListQuery): LiveResource<WorkflowPage> {
  const api = useApi();
  const load = useCallback(
    (signal: AbortSignal) => api.listWorkflows({ status: status ?? undefined, cursor, limit: PAGE_SIZE }, signal),
    [api, status, cursor],
  );
  const applyUpdate = useCallback(
    (shown: WorkflowPage | null, update: WorkflowUpdate) => {
      if (!shown) return { next: shown, refetch: false };
      const index = shown.items.findIndex((item) => item.workflow_id === update.workflow_id);
      if (index === -1) {
        // Newest first: a workflow not seen yet belongs on the first page, if it passes the filter.
        const belongsHere = cursor === null && (status === null || status === update.data.status);
        return { next: shown, refetch: belongsHere };
      }
      const before = shown.items[index]!;
      const after = applyUpdateToSummary(before, update);
      if (after === before) return { next: shown, refetch: false }; // stale or duplicated
      const items = shown.items.slice();
      items[index] = after;
      // Start and finish times, and whether the row still passes the filter, come over REST.
      return { next: { ...shown, items }, refetch: after.status !== before.status };
    },
    [status, cursor],
  );
  const merge = useCallback(
    (shown: WorkflowPage | null, fetched: WorkflowPage): WorkflowPage => ({
      items: mergePage(shown?.items ?? [], fetched.items),
      next_cursor: fetched.next_cursor,
    }),
    [],
  );
  return useLiveResource({
    key: JSON.stringify([status, cursor]),
    load,
    merge,
    applyUpdate,
    refetchDelayMs: LIST_REFETCH_DELAY_MS,
  });
}
