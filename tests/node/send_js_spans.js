// Sends spans from the OpenTelemetry JS SDK to an OTLP/HTTP endpoint, the way a
// Node application pointed at `convtrace collect` would.
//
//   node send_js_spans.js <base-url> <proto|json|grpc> <conversation-id>
//
// With grpc, <base-url> is the OTLP/gRPC endpoint (http://HOST:PORT).
//
// Two traces (two turns, as an SDK without turn counting sends them): each a
// request span with an LLM call carrying GenAI usage and cost attributes.
'use strict';

const { BasicTracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { Resource } = require('@opentelemetry/resources');
const { OTLPTraceExporter: ProtoExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { OTLPTraceExporter: JsonExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { OTLPTraceExporter: GrpcExporter } = require('@opentelemetry/exporter-trace-otlp-grpc');
const api = require('@opentelemetry/api');

async function main() {
  const [base, protocol, conversation] = process.argv.slice(2);
  const exporter = protocol === 'grpc' ? new GrpcExporter({ url: base })
    : new (protocol === 'json' ? JsonExporter : ProtoExporter)({ url: `${base}/v1/traces` });
  const provider = new BasicTracerProvider({
    resource: new Resource({ 'service.name': 'js-support-bot' }),
  });
  provider.addSpanProcessor(new SimpleSpanProcessor(exporter));
  const tracer = provider.getTracer('send_js_spans', '1.0.0');

  const turns = [
    { input: 19, output: 10, cost: 0.0001975 },
    { input: 1200, output: 300, cost: 0.0075 },
  ];
  let start = Date.UTC(2024, 2, 1, 12, 0, 0);
  for (const turn of turns) {
    const root = tracer.startSpan('handle_message', {
      startTime: start,
      attributes: { 'gen_ai.conversation.id': conversation, 'user.id': 'js_user' },
    });
    const ctx = api.trace.setSpan(api.context.active(), root);
    const llm = tracer.startSpan(
      'chat gpt-4o',
      {
        startTime: start + 5,
        kind: api.SpanKind.CLIENT,
        attributes: {
          'gen_ai.conversation.id': conversation,
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.usage.input_tokens': turn.input,
          'gen_ai.usage.output_tokens': turn.output,
          'gen_ai.usage.cost_usd': turn.cost,
          'js.only': ['kept', 'as', 'array'],
        },
      },
      ctx,
    );
    llm.end(start + 900);
    root.end(start + 1000);
    start += 60000;
  }
  await provider.forceFlush();
  await provider.shutdown();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
