// Preloaded into every Node.js process under a command (NODE_OPTIONS="--require=.../no_network.cjs"):
// a connection to anything but this machine (loopback, a Unix socket) is refused before any packet
// leaves, and recorded in $NO_NETWORK_LOG. The `cli` session runs `npx cdktf synth` under it, so a
// CLI that phones home (telemetry, a version check) fails CI instead of silently trying.
"use strict";

const fs = require("node:fs");
const net = require("node:net");
const dns = require("node:dns");

const LOG = process.env.NO_NETWORK_LOG;

function isLocal(host) {
  return (
    host === undefined ||
    host === "" ||
    host === "localhost" ||
    host === "::1" ||
    /^127\./.test(host) ||
    /^::ffff:127\./.test(host)
  );
}

function refused(what) {
  const command = process.argv.slice(1, 3).join(" ");
  if (LOG) {
    fs.appendFileSync(LOG, `pid ${process.pid} (node ${command}): ${what}\n`);
  }
  const error = new Error(`no_network.cjs refused ${what}`);
  error.code = "ENETUNREACH";
  return error;
}

// net.Socket#connect(options[, cb]) | (port[, host][, cb]) | (path[, cb]); tls and http go through it.
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0]; // net's internal normalized form
  let host;
  if (first !== null && typeof first === "object") {
    host = first.path !== undefined ? undefined : first.host ?? "localhost";
  } else if (typeof first === "number" || /^\d+$/.test(String(first))) {
    host = typeof args[1] === "string" ? args[1] : "localhost";
  }
  if (!isLocal(host)) {
    const error = refused(`a connection to ${host}`);
    process.nextTick(() => this.destroy(error));
    return this;
  }
  return connect.apply(this, args);
};

const lookup = dns.lookup;
dns.lookup = function guardedLookup(hostname, options, callback) {
  if (!isLocal(hostname)) {
    const done = typeof options === "function" ? options : callback;
    const error = refused(`a DNS lookup of ${hostname}`);
    process.nextTick(() => done(error));
    return {};
  }
  return lookup.call(this, hostname, options, callback);
};
const lookupPromise = dns.promises.lookup;
dns.promises.lookup = async function guardedLookupPromise(hostname, options) {
  if (!isLocal(hostname)) {
    throw refused(`a DNS lookup of ${hostname}`);
  }
  return lookupPromise.call(this, hostname, options);
};
