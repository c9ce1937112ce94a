import { act, render, screen } from "@testing-library/react";
import { beforeEach, describe, expect, it } from "vitest";
import { App, MissingConfig } from "./App";
import { navigate } from "./router";
import { FakeWebSocket, TEST_SOCKET_OPTIONS, createFakeApi, type FakeApi } from "./test/fakes";
import { makeWorkflow } from "./test/fixtures";

let api: FakeApi;
beforeEach(() => {
  FakeWebSocket.reset();
  api = createFakeApi();
  api.listWorkflows.mockResolvedValue({ items: [], next_cursor: null });
  api.getWorkflow.mockResolvedValue(makeWorkflow({ workflow_id: "wf-deep" }));
});

const renderApp = () => render(<App api={api} websocketUrl="wss://ws.test/prod" socketOptions={TEST_SOCKET_OPTIONS} />);

describe("App", () => {
  it("opens the list at /", async () => {
    renderApp();
    expect(await screen.findByRole("heading", { level: 1, name: "Workflows" })).toBeInTheDocument();
  });

  it("opens a workflow from a deep link", async () => {
    window.history.replaceState(null, "", "/workflows/wf-deep");
    renderApp();
    expect(await screen.findByRole("heading", { level: 1, name: "wf-deep" })).toBeInTheDocument();
    expect(api.getWorkflow).toHaveBeenCalledWith("wf-deep", expect.anything());
  });

  it("follows navigation and the back button", async () => {
    renderApp();
    await screen.findByRole("heading", { level: 1, name: "Workflows" });
    act(() => navigate("/workflows/wf-deep"));
    expect(await screen.findByRole("heading", { level: 1, name: "wf-deep" })).toBeInTheDocument();
    act(() => {
      window.history.back();
    });
    expect(await screen.findByRole("heading", { level: 1, name: "Workflows" })).toBeInTheDocument();
  });

  it("shows the connection status in the header, live once the socket opens", async () => {
    renderApp();
    expect(screen.getByTestId("connection-status")).toHaveTextContent("Connecting");
    act(() => FakeWebSocket.latest().open());
    expect(screen.getByTestId("connection-status")).toHaveTextContent("Live");
    expect(FakeWebSocket.latest().url).toBe("wss://ws.test/prod");
  });

  it("has a page for unknown paths", () => {
    window.history.replaceState(null, "", "/nowhere");
    renderApp();
    expect(screen.getByText("There is no page here.")).toBeInTheDocument();
  });

  it("explains a missing configuration", () => {
    render(<MissingConfig />);
    expect(screen.getByRole("alert")).toHaveTextContent("window.API_BASE");
  });
});
