// apply_environment / otlp_settings_from_environment: every variable, good and
// bad values, and explicit settings winning over the environment. The
// environment is injected (GetEnv), never the process's own.
#include "sdk/env_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "convtrace/store.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "convtrace/attributes.h"
#include "convtrace/diagnostics.h"
#include "support/test_sdk.h"

namespace convtrace {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A fake environment plus the warnings logged while it was applied.
class Env {
 public:
  Env(std::initializer_list<std::pair<const std::string, std::string>> vars) : vars_(vars) {
    TEST_reset_warnings();
    set_warning_interval(std::chrono::milliseconds(0));
    set_log_handler([this](std::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.emplace_back(line);
    });
  }
  ~Env() {
    set_log_handler(nullptr);
    set_warning_interval(std::chrono::milliseconds(60000));
  }
  GetEnv fn() const {
    return [this](const char* name) -> const char* {
      auto it = vars_.find(name);
      return it == vars_.end() ? nullptr : it->second.c_str();
    };
  }
  Config apply(Config config = Config()) const {
    EXPECT_FALSE(apply_environment(config, fn()));
    config.read_environment = false;  // Sdk::create must not read the real one
    return config;
  }
  OtlpHttpOptions otlp() const { return otlp_settings_from_environment(fn()); }
  uint64_t warnings() const { return warning_count("bad_environment"); }
  std::string log() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string all;
    for (const std::string& l : lines_) all += l + "\n";
    return all;
  }

 private:
  std::map<std::string, std::string> vars_;
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

std::string sampler_of(const Config& c) { return c.sampler ? c.sampler->description() : "unset"; }

TEST(EnvConfig, NothingSetLeavesEverythingUnset) {
  Env env({});
  Config c = env.apply();
  EXPECT_FALSE(c.disabled);
  EXPECT_FALSE(c.service_name);
  EXPECT_TRUE(c.resource_attributes.empty());
  EXPECT_FALSE(c.exporter);
  EXPECT_FALSE(c.batch);
  EXPECT_FALSE(c.sampler);
  EXPECT_FALSE(c.attribute_count_limit);
  EXPECT_FALSE(c.attribute_value_length_limit);
  EXPECT_FALSE(c.content.enabled);
  EXPECT_FALSE(c.pricing);
  EXPECT_FALSE(c.jsonl_path);
  EXPECT_FALSE(c.sqlite_path);
  EXPECT_EQ(env.warnings(), 0u);
}

TEST(EnvConfig, EmptyValueIsTreatedAsUnset) {
  Env env({{"OTEL_SERVICE_NAME", ""}, {"OTEL_TRACES_EXPORTER", ""}, {"OTEL_SDK_DISABLED", ""}});
  Config c = env.apply();
  EXPECT_FALSE(c.service_name);
  EXPECT_FALSE(c.exporter);
  EXPECT_FALSE(c.disabled);
  EXPECT_EQ(env.warnings(), 0u);
}

struct BoolCase {
  const char* value;
  bool expected;
  bool warns;
};

TEST(EnvConfig, SdkDisabledBooleans) {
  const BoolCase cases[] = {{"true", true, false},   {"TRUE", true, false},
                            {" True ", true, false}, {"false", false, false},
                            {"False", false, false}, {"1", false, true},
                            {"yes", false, true},    {"on", false, true}};
  for (const BoolCase& k : cases) {
    SCOPED_TRACE(k.value);
    Env env({{"OTEL_SDK_DISABLED", k.value}});
    Config c = env.apply();
    ASSERT_TRUE(c.disabled);
    EXPECT_EQ(*c.disabled, k.expected);
    EXPECT_EQ(env.warnings(), k.warns ? 1u : 0u);
    if (k.warns) {
      EXPECT_THAT(env.log(), HasSubstr(std::string("OTEL_SDK_DISABLED='") + k.value));
    }
  }
}

TEST(EnvConfig, DisabledSdkRecordsNothingButStillCarriesContext) {
  Env env({{"OTEL_SDK_DISABLED", "true"},
           {"OTEL_TRACES_EXPORTER", "jsonl"},
           {"CONVTRACE_JSONL_PATH", "/nonexistent-dir/never-created.jsonl"}});
  Config c = env.apply();
  auto sdk = Sdk::create(std::move(c));  // the jsonl file is never opened
  ASSERT_TRUE(sdk) << sdk.error().message;
  Span span = (*sdk)->tracer().start_span("work");
  EXPECT_FALSE(span.recording());
  EXPECT_FALSE(span.context().valid());
  EXPECT_EQ((*sdk)->stats().spans_started, 0u);
}

TEST(EnvConfig, ServiceNameAndResourceAttributes) {
  Env env({{"OTEL_SERVICE_NAME", "checkout"},
           {"OTEL_RESOURCE_ATTRIBUTES",
            "service.name=from-resource, deployment.environment = prod ,team=a%20b%2Cc,,"
            "note=caf%C3%A9"}});
  Config c = env.apply();
  ASSERT_TRUE(c.service_name);
  EXPECT_EQ(*c.service_name, "checkout");
  ASSERT_EQ(c.resource_attributes.size(), 4u);
  EXPECT_EQ(*find_string(c.resource_attributes, "deployment.environment"), "prod");
  EXPECT_EQ(*find_string(c.resource_attributes, "team"), "a b,c");
  EXPECT_EQ(*find_string(c.resource_attributes, "note"), "caf\xC3\xA9");
  EXPECT_EQ(env.warnings(), 0u);

  // OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES.
  c.exporter = ExporterKind::none;
  auto sdk = Sdk::create(std::move(c));
  ASSERT_TRUE(sdk);
  EXPECT_EQ(*find_string((*sdk)->resource().attributes, attr::kServiceName), "checkout");
  EXPECT_EQ(*find_string((*sdk)->resource().attributes, "team"), "a b,c");
}

TEST(EnvConfig, ServiceNameFromResourceAttributesAlone) {
  Env env({{"OTEL_RESOURCE_ATTRIBUTES", "service.name=billing"}});
  Config c = env.apply();
  c.exporter = ExporterKind::none;
  auto sdk = Sdk::create(std::move(c));
  ASSERT_TRUE(sdk);
  EXPECT_EQ(*find_string((*sdk)->resource().attributes, attr::kServiceName), "billing");
}

TEST(EnvConfig, MalformedResourceAttributesAreDiscardedWhole) {
  const char* bad[] = {"a=1,b", "a=1,=2", "a=%zz", "a=%4", "novalue"};
  for (const char* value : bad) {
    SCOPED_TRACE(value);
    Env env({{"OTEL_RESOURCE_ATTRIBUTES", value}});
    Config c = env.apply();
    EXPECT_TRUE(c.resource_attributes.empty());
    EXPECT_EQ(env.warnings(), 1u);
    EXPECT_THAT(env.log(), HasSubstr("OTEL_RESOURCE_ATTRIBUTES"));
    EXPECT_THAT(env.log(), HasSubstr(value));
  }
}

TEST(EnvConfig, TracesExporter) {
  struct Case {
    const char* value;
    std::optional<ExporterKind> expected;
    int warnings;
  };
  const Case cases[] = {{"otlp", ExporterKind::otlp, 0},
                        {"console", ExporterKind::console, 0},
                        {"none", ExporterKind::none, 0},
                        {"jsonl", ExporterKind::jsonl, 0},
                        {"sqlite", ExporterKind::sqlite, 0},
                        {" OTLP ", ExporterKind::otlp, 0},
                        {"otlp,console", ExporterKind::otlp, 1},
                        {"zipkin", std::nullopt, 1},
                        {"custom", std::nullopt, 1}};
  for (const Case& k : cases) {
    SCOPED_TRACE(k.value);
    Env env({{"OTEL_TRACES_EXPORTER", k.value}});
    Config c = env.apply();
    EXPECT_EQ(c.exporter, k.expected);
    EXPECT_EQ(env.warnings(), static_cast<uint64_t>(k.warnings));
    if (k.warnings) {
      EXPECT_THAT(env.log(), HasSubstr(std::string("OTEL_TRACES_EXPORTER='")));
    }
  }
}

TEST(EnvConfig, FilePaths) {
  Env env({{"CONVTRACE_JSONL_PATH", "/tmp/spans.jsonl"}, {"CONVTRACE_DB", "/tmp/ct.db"}});
  Config c = env.apply();
  EXPECT_EQ(c.jsonl_path, "/tmp/spans.jsonl");
  EXPECT_EQ(c.sqlite_path, "/tmp/ct.db");
}

TEST(EnvConfig, BatchProcessorSettings) {
  Env env({{"OTEL_BSP_SCHEDULE_DELAY", "250"},
           {"OTEL_BSP_EXPORT_TIMEOUT", "1000"},
           {"OTEL_BSP_MAX_QUEUE_SIZE", "64"},
           {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "16"}});
  Config c = env.apply();
  ASSERT_TRUE(c.batch);
  EXPECT_EQ(c.batch->schedule_delay.count(), 250);
  EXPECT_EQ(c.batch->export_timeout.count(), 1000);
  EXPECT_EQ(c.batch->max_queue_size, 64u);
  EXPECT_EQ(c.batch->max_export_batch_size, 16u);
  EXPECT_EQ(env.warnings(), 0u);
}

TEST(EnvConfig, BadBatchValuesWarnAndKeepDefaults) {
  struct Case {
    const char* variable;
    const char* value;
  };
  const Case cases[] = {{"OTEL_BSP_SCHEDULE_DELAY", "-5"},
                        {"OTEL_BSP_SCHEDULE_DELAY", "5s"},
                        {"OTEL_BSP_EXPORT_TIMEOUT", "1.5"},
                        {"OTEL_BSP_MAX_QUEUE_SIZE", "0"},
                        {"OTEL_BSP_MAX_QUEUE_SIZE", "lots"},
                        {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "0"},
                        {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "99999999999999999999999"}};
  for (const Case& k : cases) {
    SCOPED_TRACE(std::string(k.variable) + "=" + k.value);
    Env env({{k.variable, k.value}});
    Config c = env.apply();
    EXPECT_FALSE(c.batch);  // nothing valid was set: the defaults stand
    EXPECT_EQ(env.warnings(), 1u);
    EXPECT_THAT(env.log(), HasSubstr(std::string(k.variable) + "='" + k.value + "'"));
  }
}

TEST(EnvConfig, BatchLargerThanQueueIsClampedWithAWarning) {
  Env env({{"OTEL_BSP_MAX_QUEUE_SIZE", "100"}, {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512"}});
  Config c = env.apply();
  ASSERT_TRUE(c.batch);
  EXPECT_EQ(c.batch->max_export_batch_size, 100u);
  EXPECT_EQ(env.warnings(), 1u);
  EXPECT_THAT(env.log(), HasSubstr("OTEL_BSP_MAX_EXPORT_BATCH_SIZE=512"));
  c.exporter = ExporterKind::none;
  EXPECT_TRUE(Sdk::create(std::move(c)));
}

TEST(EnvConfig, Samplers) {
  struct Case {
    const char* sampler;
    const char* arg;  // nullptr: unset
    const char* expected;
    int warnings;
  };
  const Case cases[] = {
      {"always_on", nullptr, "AlwaysOnSampler", 0},
      {"always_off", nullptr, "AlwaysOffSampler", 0},
      {"traceidratio", "0.25", "TraceIdRatioBased{0.25}", 0},
      {"traceidratio", nullptr, "TraceIdRatioBased{1}", 0},
      {"parentbased_always_on", nullptr, "ParentBased{root=AlwaysOnSampler}", 0},
      {"parentbased_always_off", nullptr, "ParentBased{root=AlwaysOffSampler}", 0},
      {"parentbased_traceidratio", "0.5", "ParentBased{root=TraceIdRatioBased{0.5}}", 0},
      {"conversation", "0.1", "ConversationConsistent{0.1}", 0},
      {"parentbased_conversation", "0.3", "ConversationConsistent{0.3}", 0},
      {"ALWAYS_OFF", nullptr, "AlwaysOffSampler", 0},
      {"traceidratio", "1.5", "TraceIdRatioBased{1}", 1},
      {"traceidratio", "-0.1", "TraceIdRatioBased{1}", 1},
      {"traceidratio", "half", "TraceIdRatioBased{1}", 1},
      {"traceidratio", "nan", "TraceIdRatioBased{1}", 1},
      {"jaeger_remote", nullptr, "unset", 1},
      {"sometimes", nullptr, "unset", 1},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(std::string(k.sampler) + " / " + (k.arg ? k.arg : "-"));
    Env env = k.arg ? Env({{"OTEL_TRACES_SAMPLER", k.sampler}, {"OTEL_TRACES_SAMPLER_ARG", k.arg}})
                    : Env({{"OTEL_TRACES_SAMPLER", k.sampler}});
    Config c = env.apply();
    EXPECT_EQ(sampler_of(c), k.expected);
    EXPECT_EQ(env.warnings(), static_cast<uint64_t>(k.warnings));
    if (k.warnings) {
      EXPECT_THAT(env.log(), HasSubstr("OTEL_TRACES_SAMPLER"));
    }
  }
}

TEST(EnvConfig, AttributeLimits) {
  Env env({{"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "256"}, {"OTEL_ATTRIBUTE_COUNT_LIMIT", "32"}});
  Config c = env.apply();
  EXPECT_EQ(c.attribute_value_length_limit, 256u);
  EXPECT_EQ(c.attribute_count_limit, 32u);

  Env bad({{"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "big"}, {"OTEL_ATTRIBUTE_COUNT_LIMIT", "0"}});
  Config d = bad.apply();
  EXPECT_FALSE(d.attribute_value_length_limit);
  EXPECT_FALSE(d.attribute_count_limit);
  EXPECT_EQ(bad.warnings(), 2u);
  EXPECT_THAT(bad.log(), HasSubstr("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT='big'"));
  EXPECT_THAT(bad.log(), HasSubstr("OTEL_ATTRIBUTE_COUNT_LIMIT='0'"));
}

TEST(EnvConfig, CaptureContent) {
  EXPECT_TRUE(Env({{"CONVTRACE_CAPTURE_CONTENT", "true"}}).apply().content.enabled);
  EXPECT_FALSE(Env({{"CONVTRACE_CAPTURE_CONTENT", "false"}}).apply().content.enabled);
  Env bad({{"CONVTRACE_CAPTURE_CONTENT", "please"}});
  EXPECT_FALSE(bad.apply().content.enabled);
  EXPECT_EQ(bad.warnings(), 1u);
  EXPECT_THAT(bad.log(), HasSubstr("CONVTRACE_CAPTURE_CONTENT='please'"));
}

TEST(EnvConfig, AttributeProfile) {
  EXPECT_EQ(Env({{"CONVTRACE_ATTRIBUTE_PROFILE", "OpenInference"}}).apply().attribute_profile,
            AttributeProfile::openinference);
  EXPECT_EQ(Env({{"CONVTRACE_ATTRIBUTE_PROFILE", "langfuse"}}).apply().attribute_profile,
            AttributeProfile::langfuse);
  Env bad({{"CONVTRACE_ATTRIBUTE_PROFILE", "phoenix"}});
  EXPECT_FALSE(bad.apply().attribute_profile);
  EXPECT_EQ(bad.warnings(), 1u);
  EXPECT_THAT(bad.log(), HasSubstr("CONVTRACE_ATTRIBUTE_PROFILE='phoenix'"));
  Config code;
  code.attribute_profile = AttributeProfile::standard;
  EXPECT_EQ(
      Env({{"CONVTRACE_ATTRIBUTE_PROFILE", "langfuse"}}).apply(std::move(code)).attribute_profile,
      AttributeProfile::standard);
}

TEST(EnvConfig, CostKeys) {
  CostKeys keys = Env({{"CONVTRACE_COST_KEYS", " cost , llm_cost"}}).apply().cost_keys;
  EXPECT_EQ(keys.cost_usd, false);
  EXPECT_EQ(keys.cost_generic, true);
  EXPECT_EQ(keys.cost_parts, false);
  EXPECT_EQ(keys.llm_cost, true);
  keys = Env({{"CONVTRACE_COST_KEYS", "none"}}).apply().cost_keys;
  EXPECT_EQ(keys.cost_usd, false);
  EXPECT_EQ(keys.cost_generic, false);
  // Code wins per key; the variable fills the others.
  Config code;
  code.cost_keys.cost_usd = true;
  keys = Env({{"CONVTRACE_COST_KEYS", "parts"}}).apply(std::move(code)).cost_keys;
  EXPECT_EQ(keys.cost_usd, true);
  EXPECT_EQ(keys.cost_parts, true);
  EXPECT_EQ(keys.cost_generic, false);
  // A typo applies nothing: the profile's keys stay.
  Env bad({{"CONVTRACE_COST_KEYS", "cost,costusd"}});
  keys = bad.apply().cost_keys;
  EXPECT_FALSE(keys.cost_usd);
  EXPECT_FALSE(keys.cost_generic);
  EXPECT_EQ(bad.warnings(), 1u);
  EXPECT_THAT(bad.log(), HasSubstr("costusd"));
}

TEST(EnvConfig, PricingFileIsMergedOverTheBuiltinCatalog) {
  std::string path = ::testing::TempDir() + "/env_pricing.json";
  {
    std::ofstream f(path);
    f << R"({"version": 1, "models": [{"model": "house-model-x", "input": 1, "output": 2}]})";
  }
  Env env({{"CONVTRACE_PRICING_FILE", path}});
  Config c = env.apply();
  ASSERT_TRUE(c.pricing);
  EXPECT_NE(c.pricing->find("house-model-x"), nullptr);
  EXPECT_EQ(c.pricing->size(), Pricing::builtin().size() + 1);
  EXPECT_EQ(env.warnings(), 0u);
}

TEST(EnvConfig, BadPricingFileWarnsAndKeepsTheBuiltinCatalog) {
  std::string bad_json = ::testing::TempDir() + "/env_pricing_bad.json";
  {
    std::ofstream f(bad_json);
    f << R"({"version": 1, "models": [{"model": "x", "inptu": 1, "output": 2}]})";
  }
  for (const std::string& path : {bad_json, std::string("/nonexistent/prices.json")}) {
    SCOPED_TRACE(path);
    Env env({{"CONVTRACE_PRICING_FILE", path}});
    Config c = env.apply();
    EXPECT_FALSE(c.pricing);  // the SDK falls back to Pricing::builtin()
    EXPECT_EQ(env.warnings(), 1u);
    EXPECT_THAT(env.log(), HasSubstr("CONVTRACE_PRICING_FILE='" + path + "'"));
  }
}

TEST(EnvConfig, ExplicitSettingsWinOverTheEnvironment) {
  Env env({{"OTEL_SDK_DISABLED", "true"},
           {"OTEL_SERVICE_NAME", "from-env"},
           {"OTEL_RESOURCE_ATTRIBUTES", "team=env,region=eu"},
           {"OTEL_TRACES_EXPORTER", "otlp"},
           {"CONVTRACE_JSONL_PATH", "env.jsonl"},
           {"CONVTRACE_DB", "env.db"},
           {"OTEL_BSP_MAX_QUEUE_SIZE", "7"},
           {"OTEL_TRACES_SAMPLER", "always_off"},
           {"OTEL_ATTRIBUTE_COUNT_LIMIT", "3"},
           {"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "3"},
           {"CONVTRACE_CAPTURE_CONTENT", "false"},
           {"CONVTRACE_PRICING_FILE", "/nonexistent/prices.json"}});
  Config code;
  code.disabled = false;
  code.service_name = "from-code";
  code.resource_attributes.push_back(Attribute{"team", std::string("code")});
  code.exporter = ExporterKind::console;
  code.jsonl_path = "code.jsonl";
  code.sqlite_path = "code.db";
  code.batch = BatchOptions{};
  code.sampler = always_on_sampler();
  code.attribute_count_limit = 99;
  code.attribute_value_length_limit = 999;
  code.content.enabled = true;
  code.pricing = Pricing();
  Config c = env.apply(std::move(code));
  EXPECT_EQ(c.disabled, false);
  EXPECT_EQ(c.service_name, "from-code");
  EXPECT_EQ(*find_string(c.resource_attributes, "team"), "code");
  EXPECT_EQ(*find_string(c.resource_attributes, "region"), "eu");  // merged under the code's
  EXPECT_EQ(c.exporter, ExporterKind::console);
  EXPECT_EQ(c.jsonl_path, "code.jsonl");
  EXPECT_EQ(c.sqlite_path, "code.db");
  EXPECT_EQ(c.batch->max_queue_size, 2048u);
  EXPECT_EQ(sampler_of(c), "AlwaysOnSampler");
  EXPECT_EQ(c.attribute_count_limit, 99u);
  EXPECT_EQ(c.attribute_value_length_limit, 999u);
  EXPECT_TRUE(c.content.enabled);
  EXPECT_EQ(c.pricing->size(), 0u);
  EXPECT_EQ(env.warnings(), 0u);  // the unused pricing file is not even read
}

TEST(EnvConfig, ServiceNameInCodeResourceAttributesBeatsTheVariable) {
  Env env({{"OTEL_SERVICE_NAME", "from-env"}});
  Config code;
  code.resource_attributes.push_back(Attribute{"service.name", std::string("from-code")});
  Config c = env.apply(std::move(code));
  EXPECT_FALSE(c.service_name);
  c.exporter = ExporterKind::none;
  auto sdk = Sdk::create(std::move(c));
  ASSERT_TRUE(sdk);
  EXPECT_EQ(*find_string((*sdk)->resource().attributes, attr::kServiceName), "from-code");
}

TEST(EnvConfig, CustomExporterInCodeBeatsTracesExporter) {
  Env env({{"OTEL_TRACES_EXPORTER", "otlp"}});
  Config code;
  code.custom_exporter = std::make_unique<InMemoryExporter>();
  Config c = env.apply(std::move(code));
  EXPECT_FALSE(c.exporter);
}

// --- OTLP exporter settings ----------------------------------------------------

TEST(EnvOtlp, Defaults) {
  Env env({});
  OtlpHttpOptions s = env.otlp();
  EXPECT_EQ(s.endpoint, "http://localhost:4318/v1/traces");
  EXPECT_EQ(s.protocol, OtlpHttpOptions::Protocol::http_protobuf);
  EXPECT_TRUE(s.headers.empty());
  EXPECT_EQ(s.timeout.count(), 10000);
  EXPECT_FALSE(s.gzip);
  EXPECT_EQ(env.warnings(), 0u);
}

TEST(EnvOtlp, Endpoints) {
  struct Case {
    const char* base;    // OTEL_EXPORTER_OTLP_ENDPOINT or nullptr
    const char* traces;  // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or nullptr
    const char* expected;
    int warnings;
  };
  const Case cases[] = {
      {"http://collector:4318", nullptr, "http://collector:4318/v1/traces", 0},
      {"http://collector:4318/", nullptr, "http://collector:4318/v1/traces", 0},
      {"https://otlp.example.com/api", nullptr, "https://otlp.example.com/api/v1/traces", 0},
      {"https://otlp.example.com/api/", nullptr, "https://otlp.example.com/api/v1/traces", 0},
      {nullptr, "http://c:4318/custom/path", "http://c:4318/custom/path", 0},
      {nullptr, "http://c:4318/", "http://c:4318/", 0},  // used as is
      {"http://ignored:4318", "http://c:9999/x", "http://c:9999/x", 0},
      {"collector:4318", nullptr, "http://localhost:4318/v1/traces", 1},
      {nullptr, "ftp://c/x", "http://localhost:4318/v1/traces", 1},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(std::string(k.base ? k.base : "-") + " / " + (k.traces ? k.traces : "-"));
    std::initializer_list<std::pair<const std::string, std::string>> none = {};
    Env env = k.base && k.traces ? Env({{"OTEL_EXPORTER_OTLP_ENDPOINT", k.base},
                                        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", k.traces}})
              : k.base           ? Env({{"OTEL_EXPORTER_OTLP_ENDPOINT", k.base}})
              : k.traces         ? Env({{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", k.traces}})
                                 : Env(none);
    EXPECT_EQ(env.otlp().endpoint, k.expected);
    EXPECT_EQ(env.warnings(), static_cast<uint64_t>(k.warnings));
  }
}

TEST(EnvOtlp, HeadersArePercentDecoded) {
  Env env({{"OTEL_EXPORTER_OTLP_HEADERS",
            "api-key=s3cr%3Dt, Authorization = Basic%20dXNlcjpwYXNz ,x-tenant=acme,"}});
  OtlpHttpOptions s = env.otlp();
  ASSERT_EQ(s.headers.size(), 3u);
  EXPECT_EQ(s.headers[0], (std::pair<std::string, std::string>{"api-key", "s3cr=t"}));
  EXPECT_EQ(s.headers[1],
            (std::pair<std::string, std::string>{"Authorization", "Basic dXNlcjpwYXNz"}));
  EXPECT_EQ(s.headers[2], (std::pair<std::string, std::string>{"x-tenant", "acme"}));
  EXPECT_EQ(env.warnings(), 0u);
}

TEST(EnvOtlp, TracesHeadersReplaceTheGenericOnes) {
  Env env(
      {{"OTEL_EXPORTER_OTLP_HEADERS", "a=1,b=2"}, {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "c=3"}});
  OtlpHttpOptions s = env.otlp();
  ASSERT_EQ(s.headers.size(), 1u);
  EXPECT_EQ(s.headers[0].first, "c");
}

TEST(EnvOtlp, MalformedHeadersNeverLogTheirValues) {
  const char* cases[] = {"api-key=SECRET-1234%zz", "api-key=ok,SECRET-1234", "=SECRET-1234",
                         "api-key=SECRET-1234%4"};
  for (const char* value : cases) {
    SCOPED_TRACE(value);
    Env env({{"OTEL_EXPORTER_OTLP_TRACES_HEADERS", value}});
    OtlpHttpOptions s = env.otlp();
    EXPECT_TRUE(s.headers.empty());
    EXPECT_EQ(env.warnings(), 1u);
    EXPECT_THAT(env.log(), HasSubstr("OTEL_EXPORTER_OTLP_TRACES_HEADERS"));
    EXPECT_THAT(env.log(), Not(HasSubstr("SECRET")));
  }
}

TEST(EnvOtlp, ProtocolTimeoutCompression) {
  struct Case {
    std::string variable, value;
    bool json, gzip;
    int64_t timeout;
    int warnings;
    std::string in_log;
  };
  const Case cases[] = {
      {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", true, false, 10000, 0, ""},
      {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json", true, false, 10000, 0, ""},
      {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", false, false, 10000, 0, ""},
#ifndef CONVTRACE_WITH_GRPC
      {"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", false, false, 10000, 1, "no gRPC"},
#endif
      {"OTEL_EXPORTER_OTLP_PROTOCOL", "thrift", false, false, 10000, 1, "'thrift'"},
      {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500", false, false, 2500, 0, ""},
      {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "700", false, false, 700, 0, ""},
      {"OTEL_EXPORTER_OTLP_TIMEOUT", "10s", false, false, 10000, 1, "'10s'"},
      {"OTEL_EXPORTER_OTLP_TIMEOUT", "0", false, false, 10000, 1, "'0'"},
      {"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", false, true, 10000, 0, ""},
      {"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "GZIP", false, true, 10000, 0, ""},
      {"OTEL_EXPORTER_OTLP_COMPRESSION", "none", false, false, 10000, 0, ""},
      {"OTEL_EXPORTER_OTLP_COMPRESSION", "zstd", false, false, 10000, 1, "'zstd'"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.variable + "=" + k.value);
    Env env({{k.variable, k.value}});
    OtlpHttpOptions s = env.otlp();
    EXPECT_EQ(s.protocol == OtlpHttpOptions::Protocol::http_json, k.json);
    EXPECT_EQ(s.gzip, k.gzip);
    EXPECT_EQ(s.timeout.count(), k.timeout);
    EXPECT_EQ(env.warnings(), static_cast<uint64_t>(k.warnings));
    if (!k.in_log.empty()) {
      EXPECT_THAT(env.log(), HasSubstr(k.variable));
      EXPECT_THAT(env.log(), HasSubstr(k.in_log));
    }
  }
}

TEST(EnvOtlp, SignalSpecificProtocolWins) {
  Env env({{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"},
           {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"}});
  EXPECT_EQ(env.otlp().protocol, OtlpHttpOptions::Protocol::http_protobuf);
}

TEST(EnvOtlp, Certificates) {
  Env env({{"OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/ca.pem"},
           {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/etc/traces-ca.pem"},
           {"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/etc/client.pem"},
           {"OTEL_EXPORTER_OTLP_CLIENT_KEY", "/etc/client.key"}});
  OtlpHttpOptions s = env.otlp();
  EXPECT_EQ(s.certificate_file, "/etc/traces-ca.pem");
  EXPECT_EQ(s.client_certificate_file, "/etc/client.pem");
  EXPECT_EQ(s.client_key_file, "/etc/client.key");

  Env half({{"OTEL_EXPORTER_OTLP_CLIENT_KEY", "/etc/client.key"}});
  OtlpHttpOptions h = half.otlp();
  EXPECT_TRUE(h.client_key_file.empty());
  EXPECT_EQ(half.warnings(), 1u);
  EXPECT_THAT(half.log(), HasSubstr("OTEL_EXPORTER_OTLP_CLIENT_KEY"));
}

TEST(EnvOtlp, HeadersTheExporterWouldRefuseAreIgnoredWhole) {
  const char* cases[] = {"bad name=SECRET-1", "ok=1,x-key=SECRET%0D%0Ainjected", "x(y)=SECRET-2",
                         "k=SECRET%00"};
  for (const char* value : cases) {
    SCOPED_TRACE(value);
    Env env({{"OTEL_EXPORTER_OTLP_HEADERS", value}});
    EXPECT_TRUE(env.otlp().headers.empty());
    EXPECT_EQ(env.warnings(), 1u);
    EXPECT_THAT(env.log(), Not(HasSubstr("SECRET")));
  }
}

TEST(EnvOtlp, FilledIntoConfigOnlyForTheOtlpExporter) {
  Env env({{"OTEL_TRACES_EXPORTER", "otlp"},
           {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"},
           {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"}});
  Config c = env.apply();
  ASSERT_TRUE(c.otlp);
  EXPECT_EQ(c.otlp->endpoint, "http://collector:4318/v1/traces");
  EXPECT_EQ(c.otlp->protocol, OtlpHttpOptions::Protocol::http_json);

  Env console({{"OTEL_TRACES_EXPORTER", "console"}, {"OTEL_EXPORTER_OTLP_PROTOCOL", "bogus"}});
  EXPECT_FALSE(console.apply().otlp);
  EXPECT_EQ(console.warnings(), 0u);  // not read, so not complained about

  // The exporter chosen in code still reads its settings from the environment.
  Env code_kind({{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:1/x"}});
  Config k;
  k.exporter = ExporterKind::otlp;
  EXPECT_EQ(code_kind.apply(std::move(k)).otlp->endpoint, "http://c:1/x");
}

TEST(EnvOtlp, OptionsInCodeWinWhole) {
  Env env({{"OTEL_TRACES_EXPORTER", "otlp"},
           {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://from-env:4318"},
           {"OTEL_EXPORTER_OTLP_HEADERS", "a=1"}});
  Config code;
  code.otlp = OtlpHttpOptions{};
  code.otlp->endpoint = "https://from-code/v1/traces";
  Config c = env.apply(std::move(code));
  EXPECT_EQ(c.otlp->endpoint, "https://from-code/v1/traces");
  EXPECT_TRUE(c.otlp->headers.empty());
}

// Accepts one connection on 127.0.0.1 and keeps the request head it received.
class OneShotReceiver {
 public:
  OneShotReceiver() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && listen(fd_, 4) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
    thread_ = std::thread([this] { serve(); });
  }
  ~OneShotReceiver() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::string head() {
    for (int i = 0; i < 500 && !done_; ++i) usleep(10000);
    return done_ ? head_ : std::string();
  }

 private:
  void serve() {
    int c = accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    std::string data;
    char buf[4096];
    ssize_t n;
    while (data.find("\r\n\r\n") == std::string::npos && (n = read(c, buf, sizeof buf)) > 0) {
      data.append(buf, static_cast<size_t>(n));
    }
    const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    (void)!write(c, reply, sizeof reply - 1);
    close(c);
    head_ = data.substr(0, data.find("\r\n\r\n"));
    done_ = true;
  }
  int fd_ = -1;
  int port_ = 0;
  std::string head_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

TEST(EnvOtlp, SdkFromTheEnvironmentExportsToTheConfiguredEndpoint) {
  OneShotReceiver receiver;
  ASSERT_GT(receiver.port(), 0);
  std::string base = "http://127.0.0.1:" + std::to_string(receiver.port()) + "/";
  Env env({{"OTEL_TRACES_EXPORTER", "otlp"},
           {"OTEL_EXPORTER_OTLP_ENDPOINT", base},
           {"OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=k%20123"},
           {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"},
           {"OTEL_EXPORTER_OTLP_TIMEOUT", "3000"},
           {"OTEL_SERVICE_NAME", "env-e2e"}});
  Config c = env.apply();
  c.synchronous_export = true;
  auto sdk = Sdk::create(std::move(c));
  ASSERT_TRUE(sdk) << sdk.error().message;
  { Span span = (*sdk)->tracer().start_span("exported"); }
  std::string head = receiver.head();
  EXPECT_THAT(head, HasSubstr("POST /v1/traces HTTP/1.1"));
  EXPECT_THAT(head, HasSubstr("x-api-key: k 123"));
  EXPECT_THAT(head, HasSubstr("application/json"));
  (*sdk)->shutdown(std::chrono::milliseconds(1000));
}

// Builds an SDK from `c` (exporting synchronously), ends one span, and returns
// how many spans the store at `path` then holds; -1 when something failed.
int64_t spans_stored_by(Config c, const std::string& path) {
  c.synchronous_export = true;
  auto sdk = Sdk::create(std::move(c));
  EXPECT_TRUE(sdk) << sdk.error().message;
  if (!sdk) return -1;
  { Span span = (*sdk)->tracer().start_span("stored"); }
  (*sdk)->shutdown(std::chrono::milliseconds(1000));
  auto store = Store::open(path);
  EXPECT_TRUE(store) << store.error().message;
  if (!store) return -1;
  auto count = (*store)->span_count();
  return count ? *count : -1;
}

std::string fresh_db_path(const char* name) {
  std::string path = ::testing::TempDir() + "/" + name + "-" + std::to_string(::getpid()) + ".db";
  std::remove(path.c_str());
  return path;
}

TEST(EnvConfig, SqliteExporterWritesToConvtraceDb) {
  std::string path = fresh_db_path("env-sqlite");
  Env env({{"OTEL_TRACES_EXPORTER", "sqlite"}, {"CONVTRACE_DB", path.c_str()}});
  Config c = env.apply();
  ASSERT_EQ(c.sqlite_path, path);
  EXPECT_EQ(spans_stored_by(std::move(c), path), 1);
  std::remove(path.c_str());
}

TEST(SdkDefaults, TheEmbeddedStoreIsTheDefaultExporter) {
  std::string path = fresh_db_path("default");
  Config c;
  c.read_environment = false;
  c.sqlite_path = path;
  Env quiet({});
  EXPECT_EQ(spans_stored_by(std::move(c), path), 1);
  EXPECT_EQ(warning_count("default_store"), 0u);  // a chosen path is not announced
  std::remove(path.c_str());
}

TEST(SdkDefaults, TheUnconfiguredStoreSaysSoOnceAtTheFirstWrite) {
  // No exporter, no path: ./convtrace.db in the working directory.
  std::string dir = ::testing::TempDir() + "/default-store-" + std::to_string(::getpid());
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  char previous[4096];
  ASSERT_NE(::getcwd(previous, sizeof previous), nullptr);
  ASSERT_EQ(::chdir(dir.c_str()), 0);
  Env env({});
  {
    Config c;
    c.read_environment = false;
    c.synchronous_export = true;
    auto sdk = Sdk::create(std::move(c));
    ASSERT_TRUE(sdk) << sdk.error().message;
    EXPECT_EQ(warning_count("default_store"), 0u);  // nothing said before anything is written
    for (int i = 0; i < 3; ++i) (*sdk)->tracer().start_span("stored").end();
    (*sdk)->shutdown(std::chrono::milliseconds(1000));
  }
  EXPECT_EQ(warning_count("default_store"), 1u);
  char here[4096];
  ASSERT_NE(::getcwd(here, sizeof here), nullptr);
  EXPECT_THAT(env.log(), HasSubstr(std::string(here) + "/convtrace.db"));
  EXPECT_THAT(env.log(), HasSubstr("OTEL_TRACES_EXPORTER"));
  EXPECT_THAT(env.log(), HasSubstr("CONVTRACE_DB"));
  auto store = Store::open("convtrace.db");
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ(*(*store)->span_count(), 3);
  store->reset();
  std::remove("convtrace.db");
  std::remove("convtrace.db-wal");
  std::remove("convtrace.db-shm");
  ASSERT_EQ(::chdir(previous), 0);
  ::rmdir(dir.c_str());
}

// --- Metrics ------------------------------------------------------------------

TEST(EnvConfig, MetricsFollowTheOtlpSpanExporterUnlessTold) {
  Env env({{"OTEL_TRACES_EXPORTER", "otlp"},
           {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"},
           {"OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-key=abc"},
           {"OTEL_METRIC_EXPORT_INTERVAL", "15000"},
           {"OTEL_METRIC_EXPORT_TIMEOUT", "2000"},
           {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "Delta"},
           {"CONVTRACE_METRICS_ATTRIBUTES", "workflow.type, user.id"},
           {"CONVTRACE_METRICS_CARDINALITY_LIMIT", "500"},
           {"OTEL_METRICS_EXEMPLAR_FILTER", "always_off"}});
  Config c = env.apply();
  EXPECT_EQ(resolved_metrics_exporter(c), MetricsExporterKind::otlp);
  ASSERT_TRUE(c.otlp_metrics);
  EXPECT_EQ(c.otlp_metrics->endpoint, "http://collector:4318/v1/metrics");
  ASSERT_EQ(c.otlp_metrics->headers.size(), 1u);
  EXPECT_EQ(c.otlp_metrics->headers[0].first, "x-key");
  ASSERT_TRUE(c.otlp);
  EXPECT_TRUE(c.otlp->headers.empty());  // the METRICS_ variable is the metrics exporter's only
  EXPECT_EQ(c.metrics.export_interval, std::chrono::milliseconds(15000));
  EXPECT_EQ(c.metrics.export_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(c.metrics.temporality, Temporality::delta);
  EXPECT_EQ(c.metrics.workflow_type_attribute, true);
  EXPECT_EQ(c.metrics.user_id_attribute, true);
  EXPECT_EQ(c.metrics.cardinality_limit, 500u);
  EXPECT_EQ(c.metrics.exemplars, false);
  EXPECT_EQ(env.warnings(), 0u);
}

TEST(EnvConfig, MetricsAreOffByDefaultAndBadValuesWarn) {
  Env env({{"OTEL_METRIC_EXPORT_INTERVAL", "0"},
           {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "sometimes"},
           {"CONVTRACE_METRICS_ATTRIBUTES", "gen_ai.conversation.id"},
           {"OTEL_METRICS_EXPORTER", "prometheus"}});
  Config c = env.apply();
  EXPECT_EQ(resolved_metrics_exporter(c), MetricsExporterKind::none);
  EXPECT_FALSE(c.otlp_metrics);
  EXPECT_FALSE(c.metrics.export_interval);
  EXPECT_FALSE(c.metrics.temporality);
  EXPECT_FALSE(c.metrics.user_id_attribute);
  EXPECT_EQ(env.warnings(), 4u);
  EXPECT_THAT(env.log(), HasSubstr("OTEL_METRICS_EXPORTER='prometheus'"));
  EXPECT_THAT(env.log(),
              HasSubstr("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE='sometimes'"));
}

TEST(EnvConfig, MetricsExporterCanBeTurnedOnAlone) {
  Env env({{"OTEL_METRICS_EXPORTER", "otlp"},
           {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:4318/custom"}});
  Config c = env.apply();
  EXPECT_EQ(resolved_metrics_exporter(c), MetricsExporterKind::otlp);
  ASSERT_TRUE(c.otlp_metrics);
  EXPECT_EQ(c.otlp_metrics->endpoint, "http://m:4318/custom");
  EXPECT_FALSE(c.otlp);
}

#ifdef CONVTRACE_WITH_GRPC
TEST(EnvOtlp, GrpcEndpointsAreHostAndPortWithTheSchemeOrInsecureDecidingTls) {
  Env env({{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
           {"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"},
           {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "metrics:4317"},
           {"OTEL_EXPORTER_OTLP_METRICS_INSECURE", "true"}});
  OtlpHttpOptions traces = env.otlp();
  EXPECT_EQ(traces.protocol, OtlpHttpOptions::Protocol::grpc);
  EXPECT_EQ(traces.endpoint, "https://collector:4317");  // no path appended; TLS by default
  OtlpHttpOptions metrics = otlp_settings_from_environment(env.fn(), "METRICS");
  EXPECT_EQ(metrics.endpoint, "http://metrics:4317");
  EXPECT_EQ(env.warnings(), 0u);
  Env defaults({{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}});
  EXPECT_EQ(defaults.otlp().endpoint, "http://localhost:4317");
}
#endif

}  // namespace
}  // namespace convtrace
