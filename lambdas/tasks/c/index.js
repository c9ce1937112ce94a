'use strict';
// Task C: aggregates the outputs of B1, B2 and B3 (event.dependencies) into one report.
const { simulate } = require('./simulate');

exports.handler = async (event) =>
  simulate(event, async ({ workflow_id, task_id, dependencies = {} }) => {
    const b1 = dependencies.B1 || {};
    const b2 = dependencies.B2 || {};
    const b3 = dependencies.B3 || {};
    return {
      task: task_id,
      workflow_id,
      sources: Object.keys(dependencies).sort(),
      report: {
        count: b1.count ?? b2.count ?? null,
        sum: b1.sum ?? null,
        mean: b2.mean ?? null,
        min: b2.min ?? null,
        max: b2.max ?? null,
        sha256: b3.sha256 ?? null,
      },
    };
  });
