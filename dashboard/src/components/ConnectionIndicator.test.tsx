import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { ConnectionStatus } from "../live/useWorkflowSocket";
import { ConnectionIndicator } from "./ConnectionIndicator";

describe("ConnectionIndicator", () => {
  it.each([
    ["live", "Live", "Receiving live updates."],
    ["reconnecting", "Reconnecting", "refreshing every 5 s"],
    ["offline", "Offline", "refreshing every 5 s"],
    ["connecting", "Connecting", "refreshing every 5 s"],
  ] as [ConnectionStatus, string, string][])("shows %s as %s, in words, as a live region", (status, label, explanation) => {
    render(<ConnectionIndicator status={status} />);
    const indicator = screen.getByRole("status");
    expect(indicator).toHaveAttribute("data-testid", "connection-status");
    expect(indicator).toHaveAttribute("data-state", status);
    expect(indicator).toHaveTextContent(label);
    expect(indicator).toHaveTextContent(explanation);
  });
});
