import type {
  CreateWorkflowRequest,
  Definition,
  ErrorDetail,
  Workflow,
  WorkflowPage,
  WorkflowStatus,
} from "./types";

/** Any failed API call: an error body from the API, an HTTP error without one, or no answer. */
export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 when the API could not be reached. */
    readonly status: number,
    /** The API's error code (`validation_error`, `not_found`, ...), or `http_error` / `network_error`. */
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Any thrown value as an ApiError, so every view reports failures one way. */
export function toApiError(caught: unknown): ApiError {
  if (caught instanceof ApiError) return caught;
  return new ApiError(0, "client_error", caught instanceof Error ? caught.message : String(caught));
}

export interface ListWorkflowsParams {
  status?: WorkflowStatus | undefined;
  limit?: number | undefined;
  cursor?: string | null | undefined;
}

export interface CreateWorkflowResult {
  workflow: Workflow;
  /** false when the API answered 200: a workflow with that id and body already existed. */
  created: boolean;
}

export interface ApiClient {
  listWorkflows(params: ListWorkflowsParams, signal?: AbortSignal): Promise<WorkflowPage>;
  getWorkflow(workflowId: string, signal?: AbortSignal): Promise<Workflow>;
  createWorkflow(body: CreateWorkflowRequest): Promise<CreateWorkflowResult>;
  cancelWorkflow(workflowId: string): Promise<Workflow>;
  retryWorkflow(workflowId: string): Promise<Workflow>;
  listDefinitions(signal?: AbortSignal): Promise<Definition[]>;
}

/** Joins a base URL (with or without a trailing slash, e.g. ".../prod/") and an absolute path. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

export function createApiClient(
  baseUrl: string,
  fetchFn: typeof fetch = (...a) => fetch(...a),
  /** The current access token (it is renewed while the app runs); null without sign-in. */
  accessToken: () => string | null = () => null,
): ApiClient {
  async function request<T>(path: string, init: RequestInit = {}): Promise<{ body: T; status: number }> {
    let response: Response;
    const token = accessToken();
    try {
      response = await fetchFn(joinUrl(baseUrl, path), {
        ...init,
        headers: {
          Accept: "application/json",
          ...(init.body ? { "Content-Type": "application/json" } : {}),
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") throw error;
      throw new ApiError(0, "network_error", "The API could not be reached. Check your connection.");
    }
    const text = await response.text();
    let body: unknown = undefined;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
    }
    if (!response.ok) throw errorFromResponse(response.status, body);
    if (body === undefined) {
      throw new ApiError(response.status, "invalid_response", "The API answered with something that is not JSON.");
    }
    return { body: body as T, status: response.status };
  }

  return {
    async listWorkflows({ status, limit, cursor }, signal) {
      const query = new URLSearchParams();
      if (status) query.set("status", status);
      if (limit) query.set("limit", String(limit));
      if (cursor) query.set("cursor", cursor);
      const qs = query.toString();
      return (await request<WorkflowPage>(`/workflows${qs ? `?${qs}` : ""}`, { signal: signal ?? null })).body;
    },
    async getWorkflow(id, signal) {
      return (await request<Workflow>(workflowPath(id), { signal: signal ?? null })).body;
    },
    async createWorkflow(payload) {
      const { body, status } = await request<Workflow>("/workflows", {
        method: "POST",
        body: JSON.stringify(payload),
      });
      return { workflow: body, created: status === 201 };
    },
    async cancelWorkflow(id) {
      return (await request<Workflow>(`${workflowPath(id)}/cancel`, { method: "POST" })).body;
    },
    async retryWorkflow(id) {
      return (await request<Workflow>(`${workflowPath(id)}/retry`, { method: "POST" })).body;
    },
    async listDefinitions(signal) {
      return (await request<{ items: Definition[] }>("/definitions", { signal: signal ?? null })).body.items;
    },
  };
}

const workflowPath = (id: string) => `/workflows/${encodeURIComponent(id)}`;

function errorFromResponse(status: number, body: unknown): ApiError {
  if (isErrorBody(body)) {
    const details = Array.isArray(body.details) ? body.details.filter(isErrorDetail) : [];
    return new ApiError(status, body.error, body.message, details);
  }
  // API Gateway's own errors (throttling, 5xx) carry only {"message": ...}.
  const message =
    typeof body === "object" && body !== null && typeof (body as { message?: unknown }).message === "string"
      ? (body as { message: string }).message
      : `The API answered HTTP ${status}.`;
  return new ApiError(status, "http_error", message);
}

function isErrorBody(body: unknown): body is { error: string; message: string; details?: unknown } {
  return (
    typeof body === "object" &&
    body !== null &&
    typeof (body as { error?: unknown }).error === "string" &&
    typeof (body as { message?: unknown }).message === "string"
  );
}

function isErrorDetail(detail: unknown): detail is ErrorDetail {
  return (
    typeof detail === "object" &&
    detail !== null &&
    typeof (detail as { field?: unknown }).field === "string" &&
    typeof (detail as { message?: unknown }).message === "string"
  );
}
