// Cross-checks convtrace's W3C Trace Context and Baggage headers against the
// OpenTelemetry JavaScript SDK (tests/propagation/node_interop_test.cc runs it).
//
// Reads one JSON request on stdin and writes one JSON answer on stdout.
//   {"mode": "extract", "headers": {...}}
//     → {"valid", "traceId", "spanId", "traceFlags", "isRemote", "traceState",
//        "baggage": {key: {"value", "metadata"}}, "headers": {...re-injected...}}
//   {"mode": "inject", "traceId", "spanId", "traceFlags", "traceState",
//    "baggage": {key: {"value", "metadata"}}}
//     → {"headers": {...}}
'use strict';

const api = require('@opentelemetry/api');
const core = require('@opentelemetry/core');

const propagator = new core.CompositePropagator({
  propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()],
});

function inject(context) {
  const headers = {};
  propagator.inject(context, headers, api.defaultTextMapSetter);
  return headers;
}

function extract(headers) {
  const context = propagator.extract(api.ROOT_CONTEXT, headers, api.defaultTextMapGetter);
  const span = api.trace.getSpanContext(context);
  const baggage = {};
  const bag = api.propagation.getBaggage(context);
  if (bag) {
    for (const [key, entry] of bag.getAllEntries()) {
      baggage[key] = {
        value: entry.value,
        metadata: entry.metadata ? entry.metadata.toString() : null,
      };
    }
  }
  return {
    valid: !!span && api.isSpanContextValid(span),
    traceId: span ? span.traceId : null,
    spanId: span ? span.spanId : null,
    traceFlags: span ? span.traceFlags : null,
    isRemote: span ? !!span.isRemote : null,
    traceState: span && span.traceState ? span.traceState.serialize() : null,
    baggage,
    headers: inject(context),
  };
}

function build(request) {
  let context = api.ROOT_CONTEXT;
  if (request.traceId) {
    context = api.trace.setSpanContext(context, {
      traceId: request.traceId,
      spanId: request.spanId,
      traceFlags: request.traceFlags,
      isRemote: false,
      traceState: request.traceState ? new core.TraceState(request.traceState) : undefined,
    });
  }
  const entries = {};
  for (const [key, entry] of Object.entries(request.baggage || {})) {
    entries[key] = { value: entry.value };
    if (entry.metadata) entries[key].metadata = api.baggageEntryMetadataFromString(entry.metadata);
  }
  if (Object.keys(entries).length > 0) {
    context = api.propagation.setBaggage(context, api.propagation.createBaggage(entries));
  }
  return context;
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const request = JSON.parse(input);
  let answer;
  if (request.mode === 'extract') {
    answer = extract(request.headers || {});
  } else if (request.mode === 'inject') {
    answer = { headers: inject(build(request)) };
  } else {
    process.stderr.write(`unknown mode ${request.mode}\n`);
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
});
