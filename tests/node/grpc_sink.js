#!/usr/bin/env node
// An OTLP/gRPC endpoint that decodes what it receives with the official
// opentelemetry-proto schema (the JS OTLP transformer's generated code) and
// writes one JSON line per call to OUT: {"method", "metadata", "request"}.
//
//   node grpc_sink.js OUT CALLS [unavailable-once]
//
// Prints "listening PORT" once it accepts calls; exits after CALLS calls were
// answered OK, or after 60 s. With unavailable-once, the first call is
// answered UNAVAILABLE (retryable) and not counted.
'use strict';

const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const root = require(path.join(__dirname, 'node_modules', '@opentelemetry', 'otlp-transformer',
                               'build', 'src', 'generated', 'root.js'));
const collector = root.opentelemetry.proto.collector;

const [out, callsArg, mode] = process.argv.slice(2);
const wanted = Number(callsArg);
let refused = mode !== 'unavailable-once';
let served = 0;

function normalize(value) {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === 'object') {
    const o = {};
    for (const [k, v] of Object.entries(value)) o[k] = normalize(v);
    return o;
  }
  return value;
}

function handler(name, Request) {
  return (call, callback) => {
    if (!refused) {
      refused = true;
      callback({ code: grpc.status.UNAVAILABLE, details: 'try again' });
      return;
    }
    let request;
    try {
      request = Request.toObject(Request.decode(call.request),
                                 { longs: String, enums: Number, defaults: false, arrays: true });
    } catch (e) {
      callback({ code: grpc.status.INVALID_ARGUMENT, details: e.message });
      return;
    }
    const metadata = call.metadata.getMap();
    fs.appendFileSync(out, JSON.stringify({ method: name, metadata: normalize(metadata),
                                            request: normalize(request) }) + '\n');
    callback(null, Buffer.alloc(0));  // an empty Export*ServiceResponse: full success
    if (++served >= wanted) setTimeout(() => process.exit(0), 100);
  };
}

const raw = { serialize: (b) => b, deserialize: (b) => b };
function method(p) {
  return { path: p, requestStream: false, responseStream: false, requestSerialize: raw.serialize,
           requestDeserialize: raw.deserialize, responseSerialize: raw.serialize,
           responseDeserialize: raw.deserialize };
}

const server = new grpc.Server();
server.addService({ Export: method('/opentelemetry.proto.collector.trace.v1.TraceService/Export') },
                  { Export: handler('traces', collector.trace.v1.ExportTraceServiceRequest) });
server.addService({ Export: method('/opentelemetry.proto.collector.metrics.v1.MetricsService/Export') },
                  { Export: handler('metrics', collector.metrics.v1.ExportMetricsServiceRequest) });
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(err);
    process.exit(2);
  }
  process.stdout.write('listening ' + port + '\n');
});
setTimeout(() => process.exit(3), 60000);
