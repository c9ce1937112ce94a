import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { TASK_STATUSES, WORKFLOW_STATUSES } from "../api/types";
import { statusAppearance } from "../status";
import { StatusBadge, StatusLegend } from "./StatusBadge";

describe("status appearance", () => {
  it("gives every status of the contract a label, an icon and a colour of its own kind", () => {
    for (const status of [...WORKFLOW_STATUSES, ...TASK_STATUSES]) {
      const look = statusAppearance(status);
      expect(look.label).not.toBe(status);
      expect(look.icon).not.toBe("unknown");
    }
  });

  it("tells success, failure and cancellation apart by icon as well as colour", () => {
    const icons = ["SUCCEEDED", "FAILED", "CANCELLED", "RUNNING", "PENDING", "SKIPPED"].map(
      (status) => statusAppearance(status).icon,
    );
    expect(new Set(icons).size).toBe(icons.length);
  });

  it("shows a workflow's SUCCESS like a task's SUCCEEDED", () => {
    expect(statusAppearance("SUCCESS").color).toBe(statusAppearance("SUCCEEDED").color);
  });

  it("shows an unknown status by its own name", () => {
    expect(statusAppearance("PAUSED")).toMatchObject({ label: "PAUSED", icon: "unknown" });
  });
});

describe("StatusBadge", () => {
  it("says the status in words next to its icon", () => {
    render(<StatusBadge status="FAILED" testId="badge" />);
    const badge = screen.getByTestId("badge");
    expect(badge).toHaveTextContent("Failed");
    expect(badge).toHaveAttribute("data-status", "FAILED");
    expect(badge.querySelector("svg")).toHaveAttribute("aria-hidden", "true");
  });

  it("lists every task status in the legend", () => {
    render(<StatusLegend />);
    const legend = screen.getByRole("list", { name: "Task status legend" });
    expect(within(legend).getAllByRole("listitem").map((item) => item.textContent)).toEqual([
      "Pending",
      "Ready",
      "Running",
      "Succeeded",
      "Failed",
      "Skipped",
      "Cancelled",
    ]);
  });
});
