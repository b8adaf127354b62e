// The tracer bridge: convtrace's observe/workflow/conversation on an
// opentelemetry-cpp TracerProvider, one trace with the app's own spans.
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <thread>

#include <opentelemetry/context/propagation/text_map_propagator.h>
#include <opentelemetry/context/runtime_context.h>
#include <opentelemetry/sdk/trace/samplers/always_off.h>
#include <opentelemetry/sdk/trace/samplers/parent.h>
#include <opentelemetry/trace/noop.h>
#include <opentelemetry/trace/propagation/http_trace_context.h>

#include "otelcpp/otel_pipeline.h"

namespace convtrace::testing {
namespace {

namespace otel_ctx = ::opentelemetry::context;
namespace nostd = ::opentelemetry::nostd;

// opentelemetry-cpp's carrier over a std::map.
class MapCarrier : public otel_ctx::propagation::TextMapCarrier {
 public:
  explicit MapCarrier(std::map<std::string, std::string>& headers) : headers_(headers) {}
  nostd::string_view Get(nostd::string_view key) const noexcept override {
    auto it = headers_.find(std::string(key));
    return it == headers_.end() ? nostd::string_view() : nostd::string_view(it->second);
  }
  void Set(nostd::string_view key, nostd::string_view value) noexcept override {
    headers_[std::string(key)] = std::string(value);
  }

 private:
  std::map<std::string, std::string>& headers_;
};

TEST(Bridge, ObservedCallsAndTheAppsSpansNestBothWays) {
  OtelPipeline p(true);
  auto tracer = p.tracer();
  {
    auto request = tracer->StartSpan("POST /chat");
    otel_api::Scope active(request);
    observe({"chat", Kind::llm, "gpt-4o", "openai"}, [&](Span& span) {
      auto lookup = tracer->StartSpan("SELECT history");
      lookup->End();
      Usage u;
      u.input_tokens = 100;
      u.output_tokens = 10;
      span.record_usage(u);
    });
    request->End();
  }
  const std::vector<FlatSpan>& spans = p.spans();
  ASSERT_EQ(spans.size(), 3u);
  const FlatSpan* request = only(spans, "POST /chat");
  const FlatSpan* chat = only(spans, "chat gpt-4o");
  const FlatSpan* lookup = only(spans, "SELECT history");
  ASSERT_TRUE(request && chat && lookup);
  EXPECT_EQ(chat->parent_span_id, request->span_id);
  EXPECT_EQ(lookup->parent_span_id, chat->span_id);
  EXPECT_EQ(chat->trace_id, request->trace_id);
  EXPECT_EQ(lookup->trace_id, request->trace_id);
  EXPECT_EQ(chat->kind, SpanKind::client);
  EXPECT_EQ(chat->str("gen_ai.operation.name"), "chat");
  EXPECT_GT(chat->integer("convtrace.cost_pico_usd"), 0);
}

TEST(Bridge, SpansCarryTheProvidersResourceAndAConvtraceScope) {
  OtelPipeline p(true);
  observe({"step", Kind::chain}, [] {});
  p.provider->ForceFlush();
  auto spans = p.data->GetSpans();
  ASSERT_EQ(spans.size(), 1u);
  auto attrs = spans[0]->GetResource().GetAttributes();
  ASSERT_TRUE(attrs.count("service.name"));
  EXPECT_EQ(nostd::get<std::string>(attrs.at("service.name")), "bridged");
  EXPECT_EQ(spans[0]->GetInstrumentationScope().GetName(), "convtrace");
}

TEST(Bridge, WorkflowAndConversationScopesParentTheAppsSpans) {
  OtelPipeline p(true);
  auto tracer = p.tracer();
  {
    auto conv = conversation("conv_b", {"user_b"});
    auto wf = workflow("wf_b", "rag");
    tracer->StartSpan("vector search")->End();
  }
  const std::vector<FlatSpan>& spans = p.spans();
  const FlatSpan* wf = only(spans, "invoke_workflow rag");
  const FlatSpan* search = only(spans, "vector search");
  ASSERT_TRUE(wf && search);
  EXPECT_EQ(search->parent_span_id, wf->span_id);
  EXPECT_EQ(search->str("workflow.id"), "wf_b");
  EXPECT_EQ(search->str("gen_ai.conversation.id"), "conv_b");
  EXPECT_EQ(search->integer("gen_ai.conversation.turn"), 1);
  EXPECT_EQ(wf->integer("gen_ai.conversation.turn"), 1);
}

TEST(Bridge, AnAppSpanThatClaimedTheTurnSharesItWithObservedCalls) {
  OtelPipeline p(true);
  auto tracer = p.tracer();
  {
    auto conv = conversation("conv_root", {"user_r"});
    for (int i = 0; i < 2; ++i) {
      auto request = tracer->StartSpan("handle message");
      otel_api::Scope active(request);
      observe({"chat", Kind::llm, "gpt-4o"}, [](Span& span) {
        Usage u;
        u.input_tokens = 1000;
        u.output_tokens = 100;
        span.record_usage(u);
      });
      request->End();
    }
  }
  const std::vector<FlatSpan>& spans = p.spans();
  ASSERT_EQ(spans.size(), 4u);
  // End order: chat, handle, chat, handle.
  EXPECT_EQ(spans[0].integer("gen_ai.conversation.turn"), 1);
  EXPECT_EQ(spans[1].integer("gen_ai.conversation.turn"), 1);
  EXPECT_EQ(spans[2].integer("gen_ai.conversation.turn"), 2);
  EXPECT_EQ(spans[3].integer("gen_ai.conversation.turn"), 2);
  // The app's span closed each turn with the conversation's running total.
  Usage u;
  u.input_tokens = 1000;
  u.output_tokens = 100;
  int64_t one = compute_cost(u, *test_pricing().find("gpt-4o"))->total_pico;
  EXPECT_DOUBLE_EQ(spans[1].real("gen_ai.conversation.total_cost_usd"), pico_to_usd(one));
  EXPECT_DOUBLE_EQ(spans[3].real("gen_ai.conversation.total_cost_usd"), pico_to_usd(2 * one));
}

TEST(Bridge, WrapCarriesBothContextsToAnotherThread) {
  OtelPipeline p(true);
  auto tracer = p.tracer();
  {
    auto conv = conversation("conv_thread");
    auto request = tracer->StartSpan("request");
    otel_api::Scope active(request);
    std::thread worker(wrap([&] {
      tracer->StartSpan("app span on worker")->End();
      observe({"tool on worker", Kind::tool}, [] {});
    }));
    worker.join();
    request->End();
  }
  const std::vector<FlatSpan>& spans = p.spans();
  const FlatSpan* request = only(spans, "request");
  const FlatSpan* app = only(spans, "app span on worker");
  const FlatSpan* tool = only(spans, "execute_tool tool on worker");
  ASSERT_TRUE(request && app && tool);
  EXPECT_EQ(app->parent_span_id, request->span_id);
  EXPECT_EQ(tool->parent_span_id, request->span_id);
  EXPECT_EQ(tool->integer("gen_ai.conversation.turn"), 1);
  EXPECT_EQ(app->integer("gen_ai.conversation.turn"), 1);
  // Nothing leaked onto this thread's opentelemetry-cpp context.
  EXPECT_FALSE(otel_api::Tracer::GetCurrentSpan()->GetContext().IsValid());
}

TEST(Bridge, AnExceptionInAnObservedCallIsRecordedAndRethrown) {
  OtelPipeline p(true);
  EXPECT_THROW(observe({"flaky tool", Kind::tool},
                       []() -> int { throw std::runtime_error("upstream timeout after 30s"); }),
               std::runtime_error);
  const std::vector<FlatSpan>& spans = p.spans();
  const FlatSpan* tool = only(spans, "execute_tool flaky tool");
  ASSERT_NE(tool, nullptr);
  EXPECT_EQ(tool->status, StatusCode::error);
  EXPECT_EQ(tool->status_description, "upstream timeout after 30s");
  EXPECT_EQ(tool->str("error.type"), "std::runtime_error");
  ASSERT_EQ(tool->event_names.size(), 1u);
  EXPECT_EQ(tool->event_names[0], "exception");
  EXPECT_EQ(std::get<std::string>(tool->event_attributes[0].at("exception.message")),
            "upstream timeout after 30s");
}

TEST(Bridge, BothPropagatorsSeeTheSameCurrentSpan) {
  OtelPipeline p(true);
  auto tracer = p.tracer();
  otel_api::propagation::HttpTraceContext otel_propagator;

  // opentelemetry-cpp's propagator inside an observed call: the observed span.
  std::map<std::string, std::string> from_otel;
  SpanContext observed;
  observe({"outbound", Kind::tool}, [&](Span& span) {
    observed = span.context();
    MapCarrier carrier(from_otel);
    otel_propagator.Inject(carrier, otel_ctx::RuntimeContext::GetCurrent());
  });
  ASSERT_TRUE(from_otel.count("traceparent"));
  EXPECT_NE(from_otel["traceparent"].find(observed.span_id.hex()), std::string::npos);

  // convtrace's inject inside an opentelemetry-cpp span: that span.
  std::map<std::string, std::string> from_convtrace;
  {
    auto app = tracer->StartSpan("app client call");
    otel_api::Scope active(app);
    inject(from_convtrace);
    std::string app_id = otel::from_otel(app->GetContext().span_id()).hex();
    EXPECT_NE(from_convtrace["traceparent"].find(app_id), std::string::npos);
    app->End();
  }

  // convtrace's extract, attached: the app's spans continue the remote trace.
  std::map<std::string, std::string> incoming = {
      {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}};
  {
    auto attached = attach(extract(incoming));
    tracer->StartSpan("server work (app)")->End();
  }
  // opentelemetry-cpp's extract, attached: observed calls continue it too.
  {
    MapCarrier carrier(incoming);
    otel_ctx::Context current = otel_ctx::RuntimeContext::GetCurrent();
    otel_ctx::Context extracted = otel_propagator.Extract(carrier, current);
    auto token = otel_ctx::RuntimeContext::Attach(extracted);
    observe({"server work (convtrace)", Kind::chain}, [] {});
  }
  const std::vector<FlatSpan>& spans = p.spans();
  for (const char* name : {"server work (app)", "server work (convtrace)"}) {
    const FlatSpan* s = only(spans, name);
    ASSERT_NE(s, nullptr) << name;
    EXPECT_EQ(s->trace_id.hex(), "4bf92f3577b34da6a3ce929d0e0e4736") << name;
    EXPECT_EQ(s->parent_span_id.hex(), "00f067aa0ba902b7") << name;
  }
}

TEST(Bridge, TheProvidersSamplerDecidesForConvtraceSpans) {
  Config config;
  OtelPipeline off(false);  // a provider to replace: built below with AlwaysOff
  auto exporter = otel_memory::InMemorySpanExporterFactory::Create(off.data, 100);
  auto provider = std::shared_ptr<otel_sdk::TracerProvider>(otel_sdk::TracerProviderFactory::Create(
      otel::make_span_processor(otel_sdk::SimpleSpanProcessorFactory::Create(std::move(exporter))),
      ::opentelemetry::sdk::resource::Resource::Create({}),
      std::make_unique<otel_sdk::AlwaysOffSampler>()));
  config.read_environment = false;
  auto sdk = otel::make_sdk(provider, std::move(config));
  ASSERT_TRUE(sdk) << sdk.error().message;
  install(*sdk);
  {
    auto conv = conversation("conv_unsampled");
    // Turns are counted whether or not a trace is kept.
    for (int64_t turn : {1, 2}) {
      observe({"unsampled", Kind::chain}, [&] { EXPECT_EQ(Context::current().turn(), turn); });
    }
  }
  install(nullptr);
  provider->ForceFlush();
  EXPECT_TRUE(off.data->GetSpans().empty());
  EXPECT_EQ((*sdk)->stats().spans_unsampled, 2u);
  provider->Shutdown();
}

TEST(Bridge, AfterTheProviderShutsDownSpansAreDroppedQuietly) {
  OtelPipeline p(true);
  observe({"before", Kind::chain}, [] {});
  ASSERT_EQ(p.spans().size(), 1u);
  p.provider->Shutdown();
  observe({"after provider shutdown", Kind::chain}, [] {});
  EXPECT_EQ(p.spans().size(), 1u);
  p.sdk->shutdown();
  observe({"after sdk shutdown", Kind::chain}, [] {});
  EXPECT_EQ(p.spans().size(), 1u);
}

TEST(Bridge, MakeSdkRejectsSettingsThatCannotApply) {
  OtelPipeline p(false);
  {
    Config c;
    c.service_name = "ignored";
    auto sdk = otel::make_sdk(p.provider, std::move(c));
    ASSERT_FALSE(sdk);
    EXPECT_EQ(sdk.error().code, Error::invalid_argument);
    EXPECT_NE(sdk.error().message.find("service_name"), std::string::npos);
  }
  {
    Config c;
    c.exporter = ExporterKind::console;
    auto sdk = otel::make_sdk(p.provider, std::move(c));
    ASSERT_FALSE(sdk);
    EXPECT_NE(sdk.error().message.find("exporter"), std::string::npos);
  }
  {
    auto sdk = otel::make_sdk(std::shared_ptr<otel_api::TracerProvider>());
    ASSERT_FALSE(sdk);
    EXPECT_NE(sdk.error().message.find("null"), std::string::npos);
  }
  {
    auto noop = std::make_shared<otel_api::NoopTracerProvider>();
    auto sdk = otel::make_sdk(noop);
    ASSERT_FALSE(sdk);
    EXPECT_NE(sdk.error().message.find("SDK TracerProvider"), std::string::npos);
  }
  {
    // The global provider, held as opentelemetry-cpp's own shared pointer.
    nostd::shared_ptr<otel_api::TracerProvider> global(p.provider);
    Config c;
    c.read_environment = false;
    auto sdk = otel::make_sdk(global, std::move(c));
    EXPECT_TRUE(sdk) << (sdk ? "" : sdk.error().message);
  }
}

}  // namespace
}  // namespace convtrace::testing
