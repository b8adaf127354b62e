// The official `openai` client, instrumented by a third-party OpenTelemetry
// instrumentation, talking to a local fake OpenAI server that replays recorded
// response bodies, and exporting through the OpenTelemetry JS SDK to an
// OTLP/HTTP endpoint (`convtrace collect`) — an application as its authors run it.
//
//   node instrumented_openai.js <base-url> <proto|json> <otel|traceloop|openinference>
//                               <conversation-id> <user-id> <fixtures-dir> <call>...
//
// Each <call> is `chat:MODEL:FIXTURE.json` or `embeddings:MODEL:FIXTURE.json`,
// made in its own trace (a turn, as an SDK without turn counting sends them)
// under a root span of the application. The conversation and user ids go on
// the spans the way each ecosystem puts them there: OpenInference through its
// own context (setSession/setUser, which its instrumentation copies onto its
// spans); Traceloop's association properties and the GenAI conventions'
// gen_ai.conversation.id through a span processor, as the Traceloop SDK and an
// application following the conventions do.
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const api = require('@opentelemetry/api');
const { BasicTracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { Resource } = require('@opentelemetry/resources');
const { OTLPTraceExporter: ProtoExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { OTLPTraceExporter: JsonExporter } = require('@opentelemetry/exporter-trace-otlp-http');

// A fake OpenAI server: each POST is answered with the next recorded body.
function fakeOpenAi(bodies) {
  const queue = bodies.slice();
  const server = http.createServer((req, res) => {
    let request = '';
    req.on('data', (chunk) => (request += chunk));
    req.on('end', () => {
      const next = queue.shift();
      if (!next || !req.url.endsWith(next.path)) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `unexpected ${req.method} ${req.url}` } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(next.body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// The application's own span processor putting the conversation on its spans.
class ConversationStamp {
  constructor(attributes) {
    this.attributes = attributes;
  }
  onStart(span) {
    span.setAttributes(this.attributes);
  }
  onEnd() {}
  forceFlush() {
    return Promise.resolve();
  }
  shutdown() {
    return Promise.resolve();
  }
}

function instrumentation(kind) {
  if (kind === 'otel') {
    const { OpenAIInstrumentation } = require('@opentelemetry/instrumentation-openai');
    return new OpenAIInstrumentation();
  }
  if (kind === 'traceloop') {
    const { OpenAIInstrumentation } = require('@traceloop/instrumentation-openai');
    return new OpenAIInstrumentation();
  }
  if (kind === 'openinference') {
    const { OpenAIInstrumentation } = require('@arizeai/openinference-instrumentation-openai');
    return new OpenAIInstrumentation();
  }
  throw new Error(`unknown instrumentation ${kind}`);
}

async function main() {
  const [base, protocol, kind, conversation, user, fixtures, ...calls] = process.argv.slice(2);
  const plan = calls.map((c) => {
    const [op, model, file] = c.split(':');
    return {
      op,
      model,
      path: op === 'chat' ? '/chat/completions' : '/embeddings',
      body: fs.readFileSync(path.join(fixtures, file), 'utf8'),
    };
  });
  const server = await fakeOpenAi(plan);

  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const Exporter = protocol === 'json' ? JsonExporter : ProtoExporter;
  const provider = new BasicTracerProvider({
    resource: new Resource({ 'service.name': `js-${kind}-app` }),
  });
  if (kind === 'otel') {
    provider.addSpanProcessor(
      new ConversationStamp({ 'gen_ai.conversation.id': conversation, 'user.id': user }),
    );
  } else if (kind === 'traceloop') {
    provider.addSpanProcessor(
      new ConversationStamp({
        'traceloop.association.properties.session_id': conversation,
        'traceloop.association.properties.user_id': user,
      }),
    );
  }
  provider.addSpanProcessor(new SimpleSpanProcessor(new Exporter({ url: `${base}/v1/traces` })));
  provider.register();

  // Instrument before the client is loaded, as the instrumentations require.
  const inst = instrumentation(kind);
  inst.setTracerProvider(provider);
  inst.enable();
  const OpenAI = require('openai');
  if (kind === 'openinference' && inst.manuallyInstrument) inst.manuallyInstrument(OpenAI);
  const client = new OpenAI({
    apiKey: 'sk-test',
    baseURL: `http://127.0.0.1:${server.address().port}/v1`,
    maxRetries: 0,
  });

  const tracer = provider.getTracer('instrumented_openai', '1.0.0');
  let ctx = api.ROOT_CONTEXT;
  if (kind === 'openinference') {
    const { setSession, setUser } = require('@arizeai/openinference-core');
    ctx = setUser(setSession(ctx, { sessionId: conversation }), { userId: user });
  }
  for (const [i, call] of plan.entries()) {
    await api.context.with(ctx, () =>
      tracer.startActiveSpan(`turn ${i + 1}`, { root: true }, async (turn) => {
        try {
          if (call.op === 'chat') {
            await client.chat.completions.create({
              model: call.model,
              messages: [{ role: 'user', content: `question ${i + 1}` }],
            });
          } else {
            await client.embeddings.create({ model: call.model, input: `query ${i + 1}` });
          }
        } finally {
          turn.end();
        }
      }),
    );
  }
  await provider.forceFlush();
  await provider.shutdown();
  server.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
