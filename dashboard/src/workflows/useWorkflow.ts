import { useCallback } from "react";
import { useApi } from "../api/ApiContext";
import type { Workflow, WorkflowUpdate } from "../api/types";
import { useLiveResource, type LiveResource } from "../live/useLiveResource";
import { applySnapshot, applyUpdateToWorkflow } from "./versioning";

/** A WebSocket update carries statuses only; the timings, attempts and outputs that changed with
 * it are reread over REST shortly after, once for a burst of updates. */
export const DETAIL_REFETCH_DELAY_MS = 300;

/** One workflow with its tasks, kept current (see useLiveResource). */
export function useWorkflow(workflowId: string): LiveResource<Workflow> {
  const api = useApi();
  const load = useCallback((signal: AbortSignal) => api.getWorkflow(workflowId, signal), [api, workflowId]);
  const applyUpdate = useCallback(
    (shown: Workflow | null, update: WorkflowUpdate) => {
      if (update.workflow_id !== workflowId) return { next: shown, refetch: false };
      // Still loading: the read under way, or the next one, will include this update.
      if (!shown) return { next: null, refetch: true };
      const next = applyUpdateToWorkflow(shown, update);
      return { next, refetch: next !== shown }; // the same object: stale or duplicated
    },
    [workflowId],
  );
  return useLiveResource({
    key: workflowId,
    load,
    merge: applySnapshot,
    applyUpdate,
    refetchDelayMs: DETAIL_REFETCH_DELAY_MS,
  });
}
