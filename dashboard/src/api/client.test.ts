import { describe, expect, it, vi } from "vitest";
import { ApiError, createApiClient, joinUrl, toApiError } from "./client";

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function clientAnswering(response: Response | (() => never)) {
  const fetchFn = vi.fn<typeof fetch>(async () => {
    if (typeof response === "function") return response();
    return response;
  });
  return { client: createApiClient("https://api.example.test/prod", fetchFn), fetchFn };
}

describe("joinUrl", () => {
  it.each([
    ["https://x.test/prod", "/workflows", "https://x.test/prod/workflows"],
    ["https://x.test/prod/", "/workflows", "https://x.test/prod/workflows"],
    ["https://x.test/prod//", "workflows", "https://x.test/prod/workflows"],
    ["http://127.0.0.1:4566", "/definitions", "http://127.0.0.1:4566/definitions"],
  ])("joins %s and %s without a doubled or missing slash", (base, path, expected) => {
    expect(joinUrl(base, path)).toBe(expected);
  });
});

describe("requests", () => {
  it("lists workflows with status, limit and the opaque cursor in the query string", async () => {
    const { client, fetchFn } = clientAnswering(jsonResponse(200, { items: [], next_cursor: null }));
    await client.listWorkflows({ status: "RUNNING", limit: 20, cursor: "abc/+=" });
    const url = new URL(fetchFn.mock.calls[0]![0] as string);
    expect(url.pathname).toBe("/prod/workflows");
    expect(Object.fromEntries(url.searchParams)).toEqual({ status: "RUNNING", limit: "20", cursor: "abc/+=" });
  });

  it("leaves out parameters that are not set", async () => {
    const { client, fetchFn } = clientAnswering(jsonResponse(200, { items: [], next_cursor: null }));
    await client.listWorkflows({ cursor: null });
    expect(fetchFn.mock.calls[0]![0]).toBe("https://api.example.test/prod/workflows");
  });

  it("escapes workflow ids in paths", async () => {
    const { client, fetchFn } = clientAnswering(jsonResponse(200, {}));
    await client.cancelWorkflow("a b/c");
    expect(fetchFn.mock.calls[0]![0]).toBe("https://api.example.test/prod/workflows/a%20b%2Fc/cancel");
    expect(fetchFn.mock.calls[0]![1]?.method).toBe("POST");
  });

  it("posts a new workflow as JSON and tells a new one (201) from an existing one (200)", async () => {
    const { client, fetchFn } = clientAnswering(jsonResponse(201, { workflow_id: "wf-9" }));
    const result = await client.createWorkflow({ workflowId: "wf-9", definition: "orchestra", input: { n: 1 } });
    const init = fetchFn.mock.calls[0]![1]!;
    expect(init.method).toBe("POST");
    expect(JSON.parse(init.body as string)).toEqual({ workflowId: "wf-9", definition: "orchestra", input: { n: 1 } });
    expect((init.headers as Record<string, string>)["Content-Type"]).toBe("application/json");
    expect(result).toEqual({ workflow: { workflow_id: "wf-9" }, created: true });

    const again = clientAnswering(jsonResponse(200, { workflow_id: "wf-9" }));
    expect((await again.client.createWorkflow({ workflowId: "wf-9" })).created).toBe(false);
  });

  it("unwraps the definitions' items", async () => {
    const { client } = clientAnswering(jsonResponse(200, { items: [{ name: "orchestra", description: "", tasks: [] }] }));
    expect(await client.listDefinitions()).toEqual([{ name: "orchestra", description: "", tasks: [] }]);
  });
});

describe("errors", () => {
  it("carries the API's code, message and field details", async () => {
    const { client } = clientAnswering(
      jsonResponse(400, {
        error: "validation_error",
        message: "The request body is not valid.",
        details: [{ field: "workflowId", message: "does not match the pattern" }],
      }),
    );
    const error = await client.createWorkflow({ workflowId: "-bad" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 400,
      code: "validation_error",
      message: "The request body is not valid.",
      details: [{ field: "workflowId", message: "does not match the pattern" }],
    });
  });

  it("reports a 404 as not_found", async () => {
    const { client } = clientAnswering(jsonResponse(404, { error: "not_found", message: "No workflow wf-x." }));
    await expect(client.getWorkflow("wf-x")).rejects.toMatchObject({ status: 404, code: "not_found", details: [] });
  });

  it("keeps API Gateway's own {message} errors readable", async () => {
    const { client } = clientAnswering(jsonResponse(502, { message: "Internal server error" }));
    await expect(client.getWorkflow("wf-1")).rejects.toMatchObject({
      status: 502,
      code: "http_error",
      message: "Internal server error",
    });
  });

  it("names the HTTP status when the error body is not JSON", async () => {
    const { client } = clientAnswering(new Response("<html>bad gateway</html>", { status: 503 }));
    await expect(client.getWorkflow("wf-1")).rejects.toMatchObject({
      status: 503,
      message: "The API answered HTTP 503.",
    });
  });

  it("reports an unreachable API as status 0", async () => {
    const { client } = clientAnswering(() => {
      throw new TypeError("Failed to fetch");
    });
    await expect(client.listDefinitions()).rejects.toMatchObject({ status: 0, code: "network_error" });
  });

  it("rethrows an abort untouched, so callers can ignore it", async () => {
    const { client } = clientAnswering(() => {
      throw new DOMException("The operation was aborted.", "AbortError");
    });
    await expect(client.getWorkflow("wf-1")).rejects.toMatchObject({ name: "AbortError" });
  });

  it("rejects a 200 whose body is not JSON", async () => {
    const { client } = clientAnswering(new Response("ok", { status: 200 }));
    await expect(client.getWorkflow("wf-1")).rejects.toMatchObject({ code: "invalid_response" });
  });

  it("turns any thrown value into an ApiError", () => {
    const original = new ApiError(409, "conflict", "Already finished.");
    expect(toApiError(original)).toBe(original);
    expect(toApiError(new Error("boom"))).toMatchObject({ status: 0, message: "boom" });
  });
});
