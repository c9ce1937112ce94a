/** "850 ms", "4.2 s", "3 m 05 s", "1 h 02 m". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const totalSeconds = Math.floor(seconds);
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes < 60) return `${minutes} m ${String(totalSeconds % 60).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} m`;
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

/** A time of day only, for tables where the date is obvious (a task's attempts). */
export function formatTime(iso: string | null | undefined): string {
  const ms = parseTime(iso);
  return ms === null ? "—" : timeFormat.format(ms);
}

/** A timestamp in the reader's locale and time zone; "—" when absent or unreadable. */
export function formatDateTime(iso: string | null | undefined): string {
  const ms = parseTime(iso);
  return ms === null ? "—" : dateTimeFormat.format(ms);
}

export function parseTime(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** The duration the API gave, else the time between start and finish (or now, while running). */
export function elapsedMs(
  startedAt: string | null,
  finishedAt: string | null,
  durationMs: number | null,
  now: number,
): number | null {
  if (durationMs !== null) return durationMs;
  const start = parseTime(startedAt);
  if (start === null) return null;
  return Math.max(0, (parseTime(finishedAt) ?? now) - start);
}

/** Pretty JSON for the task panel; strings that are not JSON values are shown as they are. */
export function formatJson(value: unknown): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value, null, 2);
}
