'use strict';
// Task B1: processes A's data: sorts it and sums it.
const { simulate } = require('./simulate');

exports.handler = async (event) =>
  simulate(event, async ({ task_id, dependencies = {} }) => {
    const data = ((dependencies.A || {}).data || []).filter((x) => typeof x === 'number');
    return {
      task: task_id,
      count: data.length,
      sum: data.reduce((total, x) => total + x, 0),
      sorted: [...data].sort((x, y) => x - y),
    };
  });
