import type { ReactElement } from "react";
import { LEGEND_STATUSES, statusAppearance, type StatusIconName } from "../status";

const ICON_PATHS: Record<StatusIconName, ReactElement> = {
  clock: (
    <>
      <circle cx="8" cy="8" r="6.25" fill="none" stroke="currentColor" strokeWidth="1.5" />
      <path d="M8 4.5V8l2.5 1.5" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" />
    </>
  ),
  queued: (
    <>
      <circle cx="8" cy="8" r="6.25" fill="none" stroke="currentColor" strokeWidth="1.5" />
      <circle cx="8" cy="8" r="2.25" fill="currentColor" />
    </>
  ),
  spinner: (
    <>
      <circle cx="8" cy="8" r="6.25" fill="none" stroke="currentColor" strokeOpacity="0.25" strokeWidth="1.5" />
      <path d="M8 1.75A6.25 6.25 0 0 1 14.25 8" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" />
    </>
  ),
  check: (
    <>
      <circle cx="8" cy="8" r="7" fill="currentColor" />
      <path d="M4.75 8.25l2.1 2.1 4.4-4.6" fill="none" stroke="#fff" strokeWidth="1.6" strokeLinecap="round" strokeLinejoin="round" />
    </>
  ),
  cross: (
    <>
      <circle cx="8" cy="8" r="7" fill="currentColor" />
      <path d="M5.5 5.5l5 5m0-5l-5 5" stroke="#fff" strokeWidth="1.6" strokeLinecap="round" />
    </>
  ),
  skip: (
    <>
      <circle cx="8" cy="8" r="6.25" fill="none" stroke="currentColor" strokeWidth="1.5" strokeDasharray="2.5 2" />
      <path d="M5 8h6" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" />
    </>
  ),
  slash: (
    <>
      <circle cx="8" cy="8" r="6.25" fill="none" stroke="currentColor" strokeWidth="1.5" />
      <path d="M3.75 12.25l8.5-8.5" stroke="currentColor" strokeWidth="1.5" />
    </>
  ),
  unknown: <circle cx="8" cy="8" r="6.25" fill="none" stroke="currentColor" strokeWidth="1.5" />,
};

/** The status's icon, hidden from screen readers: a text label always goes with it. */
export function StatusIcon({ status }: { status: string }) {
  const { icon } = statusAppearance(status);
  return (
    <svg
      className={`status-icon status-icon--${icon}`}
      viewBox="0 0 16 16"
      width="14"
      height="14"
      aria-hidden="true"
      focusable="false"
    >
      {ICON_PATHS[icon]}
    </svg>
  );
}

export function StatusBadge({ status, testId }: { status: string; testId?: string }) {
  const appearance = statusAppearance(status);
  return (
    <span
      className="status-badge"
      data-testid={testId}
      data-status={status}
      style={{ color: appearance.color, background: appearance.background, borderColor: appearance.border }}
    >
      <StatusIcon status={status} />
      {appearance.label}
    </span>
  );
}

export function StatusLegend() {
  return (
    <ul className="status-legend" aria-label="Task status legend" data-testid="status-legend">
      {LEGEND_STATUSES.map((status) => (
        <li key={status}>
          <StatusBadge status={status} />
        </li>
      ))}
    </ul>
  );
}
