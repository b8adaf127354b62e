#!/usr/bin/env node
// Decodes an OTLP ExportTraceServiceRequest body with the official
// opentelemetry-proto schema (as generated into @opentelemetry/otlp-transformer)
// and prints it as JSON on stdout, so tests can check our encoders against
// the reference definitions rather than against our own decoder.
//
//   node decode_otlp.js BODY.bin          protobuf body
//   node decode_otlp.js --json BODY.json  OTLP/JSON body
//
// Output: the message in the protobuf JSON shape (lowerCamelCase names),
// with bytes fields as lowercase hex, 64-bit integers as decimal strings,
// enums as numbers and non-finite doubles as "NaN"/"Infinity"/"-Infinity".
//
// Strict about text: a protobuf `string` field and a JSON body must be valid
// UTF-8 (as protobuf and RFC 8259 require, and as strict decoders such as
// Go's enforce), so both are decoded with a fatal TextDecoder, where
// protobufjs and Buffer#toString would quietly substitute U+FFFD.
'use strict';

const fs = require('fs');
const path = require('path');

const protobuf = require(path.join(__dirname, 'node_modules', 'protobufjs', 'minimal'));
const root = require(path.join(__dirname, 'node_modules', '@opentelemetry', 'otlp-transformer',
                               'build', 'src', 'generated', 'root.js'));
const Request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const strictUtf8 = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true});
function readStrictString() {
  return strictUtf8.decode(this.bytes());  // throws TypeError on invalid UTF-8
}
protobuf.Reader.prototype.string = readStrictString;
protobuf.BufferReader.prototype.string = readStrictString;

function fail(message) {
  process.stderr.write('decode_otlp: ' + message + '\n');
  process.exit(2);
}

// OTLP/JSON carries ids as hex where the protobuf JSON mapping uses base64:
// convert them to bytes before handing the object to the generated fromObject.
const HEX_ID = /^[0-9a-fA-F]*$/;
function idBytes(value, where) {
  if (typeof value !== 'string' || !HEX_ID.test(value) || value.length % 2 !== 0) {
    fail(where + ': not a hex id: ' + JSON.stringify(value));
  }
  return Buffer.from(value, 'hex');
}

function hexIdsToBytes(request) {
  (request.resourceSpans || []).forEach((rs, i) => {
    (rs.scopeSpans || []).forEach((ss, j) => {
      (ss.spans || []).forEach((span, k) => {
        const where = `resourceSpans[${i}].scopeSpans[${j}].spans[${k}]`;
        for (const f of ['traceId', 'spanId', 'parentSpanId']) {
          if (f in span) span[f] = idBytes(span[f], where + '.' + f);
        }
        (span.links || []).forEach((link, l) => {
          for (const f of ['traceId', 'spanId']) {
            if (f in link) link[f] = idBytes(link[f], `${where}.links[${l}].${f}`);
          }
        });
      });
    });
  });
  return request;
}

// Known field names per message, so a misspelled key in our JSON output is an
// error here instead of being silently ignored by fromObject.
const DECIMAL = {test: (v) => typeof v === 'string' && /^-?[0-9]+$/.test(v)};

const KNOWN = {
  request: ['resourceSpans'],
  resourceSpans: ['resource', 'scopeSpans', 'schemaUrl'],
  resource: ['attributes', 'droppedAttributesCount', 'entityRefs'],
  scopeSpans: ['scope', 'spans', 'schemaUrl'],
  scope: ['name', 'version', 'attributes', 'droppedAttributesCount'],
  span: ['traceId', 'spanId', 'traceState', 'parentSpanId', 'flags', 'name', 'kind',
         'startTimeUnixNano', 'endTimeUnixNano', 'attributes', 'droppedAttributesCount', 'events',
         'droppedEventsCount', 'links', 'droppedLinksCount', 'status'],
  event: ['timeUnixNano', 'name', 'attributes', 'droppedAttributesCount'],
  link: ['traceId', 'spanId', 'traceState', 'attributes', 'droppedAttributesCount', 'flags'],
  status: ['message', 'code'],
  keyValue: ['key', 'value'],
  anyValue: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue',
             'bytesValue'],
  arrayValue: ['values'],
};

function checkKeys(obj, kind, where) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    fail(where + ': expected an object');
  }
  for (const k of Object.keys(obj)) {
    if (!KNOWN[kind].includes(k)) fail(where + ': unknown field ' + JSON.stringify(k));
  }
}

function checkAttributes(list, where) {
  (list || []).forEach((kv, i) => {
    checkKeys(kv, 'keyValue', `${where}[${i}]`);
    checkAnyValue(kv.value, `${where}[${i}].value`);
  });
}

function checkAnyValue(v, where) {
  checkKeys(v, 'anyValue', where);
  if (Object.keys(v).length !== 1) fail(where + ': expected exactly one value field');
  if ('intValue' in v && !DECIMAL.test(v.intValue)) fail(where + ': intValue not a decimal string');
  if ('doubleValue' in v && typeof v.doubleValue !== 'number' &&
      !['NaN', 'Infinity', '-Infinity'].includes(v.doubleValue)) {
    fail(where + ': bad doubleValue');
  }
  if ('arrayValue' in v) {
    checkKeys(v.arrayValue, 'arrayValue', where + '.arrayValue');
    (v.arrayValue.values || []).forEach((e, i) => checkAnyValue(e, `${where}.arrayValue.values[${i}]`));
  }
}

function checkJsonShape(req) {
  checkKeys(req, 'request', 'request');
  (req.resourceSpans || []).forEach((rs, i) => {
    const w = `resourceSpans[${i}]`;
    checkKeys(rs, 'resourceSpans', w);
    if (rs.resource) {
      checkKeys(rs.resource, 'resource', w + '.resource');
      checkAttributes(rs.resource.attributes, w + '.resource.attributes');
    }
    (rs.scopeSpans || []).forEach((ss, j) => {
      const ws = `${w}.scopeSpans[${j}]`;
      checkKeys(ss, 'scopeSpans', ws);
      if (ss.scope) checkKeys(ss.scope, 'scope', ws + '.scope');
      (ss.spans || []).forEach((span, k) => {
        const wp = `${ws}.spans[${k}]`;
        checkKeys(span, 'span', wp);
        for (const f of ['startTimeUnixNano', 'endTimeUnixNano']) {
          if (f in span && !DECIMAL.test(span[f])) fail(`${wp}.${f}: not a decimal string`);
        }
        checkAttributes(span.attributes, wp + '.attributes');
        (span.events || []).forEach((e, l) => {
          checkKeys(e, 'event', `${wp}.events[${l}]`);
          checkAttributes(e.attributes, `${wp}.events[${l}].attributes`);
        });
        (span.links || []).forEach((e, l) => {
          checkKeys(e, 'link', `${wp}.links[${l}]`);
          checkAttributes(e.attributes, `${wp}.links[${l}].attributes`);
        });
        if (span.status) checkKeys(span.status, 'status', wp + '.status');
      });
    });
  });
}

// protobufjs gives Uint8Array for bytes and leaves non-finite doubles as
// numbers, which JSON.stringify would turn into objects and nulls.
function normalize(value) {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return Number.isNaN(value) ? 'NaN' : (value > 0 ? 'Infinity' : '-Infinity');
  }
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
  if (!file) fail('usage: decode_otlp.js [--json] FILE');
  const body = fs.readFileSync(file);

  let message;
  if (json) {
    let parsed;
    let text;
    try {
      text = strictUtf8.decode(body);
    } catch (e) {
      fail('the JSON body is not valid UTF-8: ' + e.message);
    }
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      fail('invalid JSON: ' + e.message);
    }
    checkJsonShape(parsed);
    // fromObject applies the protobuf JSON conversions (decimal strings to
    // 64-bit integers, "NaN" to NaN, ...); checkJsonShape caught unknown names.
    message = Request.fromObject(hexIdsToBytes(parsed));
  } else {
    try {
      message = Request.decode(body);
    } catch (e) {
      fail('protobuf decode failed: ' + e.message);
    }
  }
  const obj = Request.toObject(message, {longs: String, enums: Number, defaults: false,
                                         arrays: true});
  process.stdout.write(JSON.stringify(normalize(obj)) + '\n');
}

main();
