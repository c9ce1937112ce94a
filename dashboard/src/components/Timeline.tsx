import type { Task, TaskStatus } from "../api/types";
import { formatDateTime, formatDuration, parseTime } from "../format";
import { statusAppearance } from "../status";
import { StatusIcon } from "./StatusBadge";

export interface TimelineBar {
  taskId: string;
  attempt: number;
  status: TaskStatus;
  start: number;
  /** null while the attempt runs: the bar then reaches "now". */
  end: number | null;
}

/** One bar per attempt (retries included), from `tasks[].attempts`; a task without attempt
 * history but with start time gets one bar from its own timings. */
export function timelineBars(tasks: readonly Task[]): TimelineBar[] {
  const bars: TimelineBar[] = [];
  for (const task of tasks) {
    const runs = task.attempts.length
      ? task.attempts
      : [{ attempt: task.attempt, status: task.status, started_at: task.started_at, finished_at: task.finished_at }];
    for (const run of runs) {
      const start = parseTime(run.started_at);
      if (start === null) continue;
      bars.push({ taskId: task.task_id, attempt: run.attempt, status: run.status, start, end: parseTime(run.finished_at) });
    }
  }
  return bars;
}

export interface TimeScale {
  origin: number;
  span: number;
}

/** The time axis: from the first start to the last end (now, while anything runs). */
export function timeScale(bars: readonly TimelineBar[], now: number): TimeScale {
  const origin = Math.min(...bars.map((bar) => bar.start));
  const finish = Math.max(...bars.map((bar) => bar.end ?? now));
  return { origin, span: Math.max(finish - origin, 1) };
}

/** Where a bar sits on the track, in percent of its width. */
export function barGeometry(bar: TimelineBar, scale: TimeScale, now: number): { leftPct: number; widthPct: number } {
  const leftPct = ((bar.start - scale.origin) / scale.span) * 100;
  const rightPct = (((bar.end ?? now) - scale.origin) / scale.span) * 100;
  return { leftPct, widthPct: rightPct - leftPct };
}

interface TimelineProps {
  tasks: readonly Task[];
  now: number;
  selectedTaskId: string | null;
  onSelectTask: (taskId: string) => void;
}

const TICKS = [0, 0.25, 0.5, 0.75, 1];

/** A Gantt chart of task runs: overlapping bars ran in parallel, gaps between attempts are backoff. */
export function Timeline({ tasks, now, selectedTaskId, onSelectTask }: TimelineProps) {
  const bars = timelineBars(tasks);
  if (bars.length === 0) {
    return (
      <p className="empty-note" data-testid="timeline-empty">
        No task has started yet.
      </p>
    );
  }
  const scale = timeScale(bars, now);

  return (
    <div className="timeline" data-testid="timeline">
      <ol className="timeline__rows">
        {tasks.map((task) => (
          <li
            key={task.task_id}
            className={`timeline__row${task.task_id === selectedTaskId ? " timeline__row--selected" : ""}`}
            data-testid={`timeline-row-${task.task_id}`}
          >
            <button
              type="button"
              className="timeline__label"
              title={task.task_id}
              onClick={() => onSelectTask(task.task_id)}
            >
              {task.task_id}
            </button>
            <div className="timeline__track">
              {bars
                .filter((bar) => bar.taskId === task.task_id)
                .map((bar) => {
                  const end = bar.end ?? now;
                  const appearance = statusAppearance(bar.status);
                  const { leftPct, widthPct } = barGeometry(bar, scale, now);
                  const label = `${task.task_id} attempt ${bar.attempt}: ${appearance.label}, ${formatDuration(
                    end - bar.start,
                  )}${bar.end === null ? " so far" : ""}, started ${formatDateTime(new Date(bar.start).toISOString())}`;
                  return (
                    <span
                      key={bar.attempt}
                      role="img"
                      aria-label={label}
                      title={label}
                      className={`timeline__bar${bar.end === null ? " timeline__bar--open" : ""}${
                        bar.attempt > 1 ? " timeline__bar--retry" : ""
                      }`}
                      data-testid={`timeline-bar-${task.task_id}-${bar.attempt}`}
                      data-status={bar.status}
                      data-start-ms={bar.start}
                      data-end-ms={end}
                      style={{
                        // A short run (or one that has just started) is still wide enough for its
                        // status icon (and a retry's "#n"), and stays inside the track.
                        left: `min(${leftPct}%, calc(100% - var(--bar-min-width)))`,
                        width: `max(${widthPct}%, var(--bar-min-width))`,
                        background: appearance.background,
                        borderColor: appearance.border,
                        color: appearance.color,
                      }}
                    >
                      <StatusIcon status={bar.status} />
                      {bar.attempt > 1 && <span className="timeline__attempt">#{bar.attempt}</span>}
                    </span>
                  );
                })}
            </div>
          </li>
        ))}
      </ol>
      <div className="timeline__axis" aria-hidden="true">
        {TICKS.map((tick) => (
          <span key={tick} className="timeline__tick" style={{ left: `${tick * 100}%` }}>
            {formatDuration(tick * scale.span)}
          </span>
        ))}
      </div>
    </div>
  );
}
