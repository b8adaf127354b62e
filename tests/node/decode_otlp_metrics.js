#!/usr/bin/env node
// Decodes an OTLP ExportMetricsServiceRequest body with the official
// opentelemetry-proto schema (as generated into @opentelemetry/otlp-transformer)
// and prints it as JSON, like decode_otlp.js does for traces.
//
//   node decode_otlp_metrics.js BODY.bin          protobuf body
//   node decode_otlp_metrics.js --json BODY.json  OTLP/JSON body
//
// Output: lowerCamelCase names, bytes as lowercase hex, 64-bit integers as
// decimal strings, enums as numbers. OTLP/JSON input is checked against the
// schema's field names first: a misspelled key is an error, not ignored.
'use strict';

const fs = require('fs');
const path = require('path');

const root = require(path.join(__dirname, 'node_modules', '@opentelemetry', 'otlp-transformer',
                               'build', 'src', 'generated', 'root.js'));
const Request = root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

function fail(message) {
  process.stderr.write('decode_otlp_metrics: ' + message + '\n');
  process.exit(2);
}

// OTLP/JSON carries exemplar ids as hex, where fromObject expects bytes.
function hexIdsToBytes(request) {
  for (const rm of request.resourceMetrics || []) {
    for (const sm of rm.scopeMetrics || []) {
      for (const m of sm.metrics || []) {
        const data = m.histogram || m.sum || m.gauge || {};
        for (const p of data.dataPoints || []) {
          for (const e of p.exemplars || []) {
            for (const f of ['spanId', 'traceId']) {
              if (!(f in e)) continue;
              if (typeof e[f] !== 'string' || !/^([0-9a-f]{2})+$/.test(e[f])) fail(f + ': not a hex id');
              e[f] = Buffer.from(e[f], 'hex');
            }
          }
        }
      }
    }
  }
  return request;
}

function isDefault(v) {
  return v === 0 || v === '0' || v === '' || v === false || (Array.isArray(v) && v.length === 0);
}

// Every key we sent must survive fromObject/toObject: one that the schema
// does not know is dropped there, and is an error here.
function checkKeys(sent, decoded, where) {
  if (Array.isArray(sent)) {
    sent.forEach((v, i) => checkKeys(v, (decoded || [])[i], `${where}[${i}]`));
    return;
  }
  if (sent === null || typeof sent !== 'object' || Buffer.isBuffer(sent)) return;
  for (const [k, v] of Object.entries(sent)) {
    if (isDefault(v)) continue;
    if (decoded === undefined || decoded === null || !(k in decoded)) {
      fail(where + ': unknown field ' + JSON.stringify(k));
    }
    checkKeys(v, decoded[k], where + '.' + k);
  }
}

function normalize(value) {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = normalize(v);
    return out;
  }
  return value;
}

function main() {
  const args = process.argv.slice(2);
  const json = args[0] === '--json';
  const file = json ? args[1] : args[0];
  if (!file) fail('usage: decode_otlp_metrics.js [--json] FILE');
  const body = fs.readFileSync(file);
  let message;
  if (json) {
    let parsed;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (e) {
      fail('invalid JSON: ' + e.message);
    }
    message = Request.fromObject(hexIdsToBytes(parsed));
    checkKeys(parsed, Request.toObject(message, {longs: String, enums: Number, defaults: false,
                                                 arrays: true, bytes: String}), 'request');
  } else {
    try {
      message = Request.decode(body);
    } catch (e) {
      fail('protobuf decode failed: ' + e.message);
    }
  }
  const obj = Request.toObject(message, {longs: String, enums: Number, defaults: false, arrays: true});
  process.stdout.write(JSON.stringify(normalize(obj)) + '\n');
}

main();
