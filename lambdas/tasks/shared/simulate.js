'use strict';
// Test controls shared by the Node.js sample tasks (A, B1, C): input.simulate.<task_id> =
// {fail_attempts: N, sleep_ms: N, sleep_attempts: N, output_bytes: N} (docs/architecture.md, "Sample tasks' test controls").
// Each task folder links to this file, so every task zip carries its own copy.

function controls(event) {
  const all = (event && event.input && event.input.simulate) || {};
  const mine = all[event.task_id] || {};
  const number = (name) => {
    if (mine[name] === undefined || mine[name] === null) return 0;
    const value = Number(mine[name]);
    if (!Number.isFinite(value) || value < 0) {
      throw new TypeError(`input.simulate.${event.task_id}.${name} must be a non-negative number`);
    }
    return value;
  };
  return {
    failAttempts: number('fail_attempts'),
    sleepMs: number('sleep_ms'),
    // Absent: every attempt sleeps; N: only attempts 1..N (a retry need not wait again).
    sleepAttempts: mine.sleep_attempts === undefined || mine.sleep_attempts === null ? Infinity : number('sleep_attempts'),
    outputBytes: number('output_bytes'),
  };
}

function pad(output, bytes) {
  const size = Buffer.byteLength(JSON.stringify(output));
  // "padding" plus its quotes, colon and comma take about 14 bytes.
  const missing = Math.floor(bytes) - size - 14;
  return missing > 0 ? { ...output, padding: 'x'.repeat(missing) } : output;
}

// Runs `produce(event)` under the test controls: sleep, then fail the first N attempts, then pad.
async function simulate(event, produce) {
  const c = controls(event);
  if (c.sleepMs > 0 && event.attempt <= c.sleepAttempts) await new Promise((resolve) => setTimeout(resolve, c.sleepMs));
  if (event.attempt <= c.failAttempts) {
    const error = new Error(`simulated failure of ${event.task_id} attempt ${event.attempt} (fail_attempts=${c.failAttempts})`);
    error.name = 'SimulatedFailure';
    throw error;
  }
  const output = await produce(event);
  return c.outputBytes > 0 ? pad(output, c.outputBytes) : output;
}

module.exports = { controls, pad, simulate };
