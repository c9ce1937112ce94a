'use strict';
// The local cloud's Node.js runtime: the Lambda Runtime API loop (next / response / error /
// init error) with Lambda's handler resolution, context object, console format and error format.
// No dependencies: Node's http module only. Run as `node bootstrap.js` with the environment Lambda
// sets (AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_NAME, ...).

const http = require('http');
const path = require('path');
const fs = require('fs');
const util = require('util');
const { pathToFileURL } = require('url');

const API = process.env.AWS_LAMBDA_RUNTIME_API;
const [HOST, PORT] = API.split(':');
const BASE = '/2018-06-01/runtime';
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

let currentRequestId = null;

function call(method, route, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body);
    const req = http.request(
      {
        host: HOST,
        port: PORT,
        method,
        path: BASE + route,
        agent,
        headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length, ...headers } : headers,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

// Console lines as Lambda writes them: time, request id, level, message (tab-separated, or one
// JSON object per line when the function's log format is JSON).
const JSON_LOGS = process.env.AWS_LAMBDA_LOG_FORMAT === 'JSON';
function patchConsole() {
  const write = (level) => (...args) => {
    const timestamp = new Date().toISOString();
    const line = JSON_LOGS
      ? JSON.stringify({ timestamp, level, requestId: currentRequestId || undefined, message: util.format(...args) })
      : `${timestamp}\t${currentRequestId || 'undefined'}\t${level}\t${util.format(...args)}`.replace(/\n/g, '\r');
    process.stdout.write(line + '\n');
  };
  console.log = write('INFO');
  console.info = write('INFO');
  console.warn = write('WARN');
  console.error = write('ERROR');
  console.debug = write('DEBUG');
  console.trace = write('TRACE');
}

function errorBody(error, fallbackType) {
  if (error instanceof Error) {
    return {
      errorType: fallbackType || error.name || 'Error',
      errorMessage: error.message,
      trace: String(error.stack || '').split('\n'),
    };
  }
  return { errorType: fallbackType || typeof error, errorMessage: String(error), trace: [] };
}

class HandlerError extends Error {
  constructor(type, message) {
    super(message);
    this.name = type;
  }
}

async function loadHandler() {
  const root = process.env.LAMBDA_TASK_ROOT;
  const spec = process.env._HANDLER || '';
  const slash = spec.lastIndexOf('/');
  const dot = spec.indexOf('.', slash + 1);
  if (dot < 0) throw new HandlerError('Runtime.MalformedHandlerName', `Bad handler ${spec}`);
  const modulePath = spec.slice(0, dot);
  const names = spec.slice(dot + 1).split('.');
  const base = path.resolve(root, modulePath);
  let moduleObject;
  try {
    if (fs.existsSync(base + '.mjs')) {
      moduleObject = await import(pathToFileURL(base + '.mjs').href);
    } else if (fs.existsSync(base + '.cjs')) {
      moduleObject = require(base + '.cjs');
    } else {
      try {
        moduleObject = require(base);
      } catch (e) {
        if (e && e.code === 'ERR_REQUIRE_ESM') moduleObject = await import(pathToFileURL(base + '.js').href);
        else throw e;
      }
    }
  } catch (e) {
    if (e instanceof SyntaxError) throw new HandlerError('Runtime.UserCodeSyntaxError', `${e.name}: ${e.message}`);
    if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(base)) {
      throw new HandlerError('Runtime.ImportModuleError', `Error: Cannot find module '${modulePath}'`);
    }
    throw e;
  }
  let handler = moduleObject;
  for (const name of names) handler = handler == null ? undefined : handler[name];
  if (typeof handler !== 'function') {
    throw new HandlerError('Runtime.HandlerNotFound', `${spec} is undefined or not exported`);
  }
  // From nodejs24.x, Lambda's runtime interface client refuses a handler that declares a third
  // (callback) parameter, whether or not it is async ("Define Lambda function handler in Node.js").
  const major = Number((/^AWS_Lambda_nodejs(\d+)\.x$/.exec(process.env.AWS_EXECUTION_ENV || '') || [])[1]);
  if (major >= 24 && handler.length >= 3) {
    throw new HandlerError('Runtime.CallbackHandlerDeprecated', CALLBACK_REMOVED);
  }
  return handler;
}

const CALLBACK_REMOVED =
  'ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. ' +
  'You need to modify this function to use a supported handler signature to use Node.js 24 or later. ' +
  'For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.';

function context(headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  const parse = (value) => {
    try {
      return value ? JSON.parse(value) : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: parse(headers['lambda-runtime-cognito-identity']),
    clientContext: parse(headers['lambda-runtime-client-context']),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

// Promise-returning handlers resolve; callback handlers (three parameters, up to nodejs22.x) call back.
function run(handler, event, ctx) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (error, result) => {
      if (settled) return;
      settled = true;
      if (error !== undefined && error !== null) reject(error);
      else resolve(result);
    };
    try {
      const returned = handler(event, ctx, callback);
      if (returned && typeof returned.then === 'function') returned.then((r) => callback(null, r), (e) => callback(e));
      else if (handler.length < 3) callback(null, returned);
    } catch (e) {
      callback(e);
    }
  });
}

async function fail(route, error, type) {
  const body = errorBody(error, type);
  await call('POST', route, JSON.stringify(body), { 'Lambda-Runtime-Function-Error-Type': body.errorType });
}

async function main() {
  patchConsole();
  let handler;
  try {
    handler = await loadHandler();
  } catch (e) {
    const type = e instanceof HandlerError ? e.name : 'Runtime.ImportModuleError';
    console.error(`${type}: ${e.message}`);
    await fail('/init/error', e, type);
    process.exit(1);
  }
  // A crash outside the handler's promise still fails the invocation, then ends the process.
  const crash = (type) => async (error) => {
    console.error(`${type}: ${error && error.stack ? error.stack : error}`);
    if (currentRequestId) await fail(`/invocation/${currentRequestId}/error`, error, type).catch(() => {});
    process.exit(129);
  };
  process.on('uncaughtException', crash(undefined));
  process.on('unhandledRejection', crash('Runtime.UnhandledPromiseRejection'));

  for (;;) {
    const next = await call('GET', '/invocation/next');
    if (next.status !== 200) throw new Error(`next invocation: HTTP ${next.status}: ${next.body}`);
    const requestId = next.headers['lambda-runtime-aws-request-id'];
    currentRequestId = requestId;
    if (next.headers['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = next.headers['lambda-runtime-trace-id'];
    let event;
    try {
      event = JSON.parse(next.body.toString('utf8'));
    } catch (e) {
      await fail(`/invocation/${requestId}/error`, e, 'Runtime.UnmarshalError');
      continue;
    }
    try {
      const result = await run(handler, event, context(next.headers));
      const body = JSON.stringify(result === undefined ? null : result);
      await call('POST', `/invocation/${requestId}/response`, body);
    } catch (e) {
      console.error(`Invoke Error \t${JSON.stringify(errorBody(e))}`);
      await fail(`/invocation/${requestId}/error`, e);
    }
    currentRequestId = null;
  }
}

main().catch((e) => {
  process.stderr.write(`bootstrap: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
