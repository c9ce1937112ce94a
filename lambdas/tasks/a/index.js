'use strict';
// Task A: the workflow's first step. Returns metadata about the run and the data set the B tasks process.
const { simulate } = require('./simulate');

const DEFAULT_DATA = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];

exports.handler = async (event) =>
  simulate(event, async ({ workflow_id, task_id, attempt, idempotency_key, input = {} }) => ({
    task: task_id,
    workflow_id,
    attempt,
    idempotency_key,
    generated_at: new Date().toISOString(),
    input_keys: Object.keys(input).filter((k) => k !== 'simulate').sort(),
    data: Array.isArray(input.data) ? input.data : DEFAULT_DATA,
  }));
