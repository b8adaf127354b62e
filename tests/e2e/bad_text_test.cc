// Any bytes in give valid UTF-8 out: random byte strings as conversation,
// user and workflow ids, attribute keys and values, span and event names,
// statuses and content go through the SDK, and every output — the spans,
// OTLP protobuf and JSON, JSON lines, the propagation headers and the
// store — carries valid UTF-8, the same text everywhere.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "common/utf8.h"
#include "convtrace/convtrace.h"
#include "otlp/otlp_json.h"
#include "otlp/otlp_proto.h"
#include "otlp/sample_spans.h"
#include "store/temp_dir.h"
#include "support/test_sdk.h"

namespace convtrace {
namespace {

// Mostly bytes that start, continue or break UTF-8 sequences.
std::string random_text(std::mt19937& rng) {
  static const unsigned char kBytes[] = {'a',  'z',  ' ',  ',',  ';',  '=',  '%',  '"',
                                         '\\', 0x00, 0x1F, 0x7F, 0x80, 0xBF, 0xC0, 0xC2,
                                         0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
  std::string s(1 + rng() % 12, '\0');
  for (char& c : s) c = static_cast<char>(rng() % 3 ? kBytes[rng() % sizeof kBytes] : rng());
  return s;
}

void expect_valid(const std::vector<SpanData>& spans, const char* where) {
  for (const SpanData& s : spans)
    ASSERT_TRUE(utf8::valid(s)) << where << ": span '" << s.name << "'";
}

TEST(BadText, AnyBytesInGiveValidUtf8OutEverywhere) {
  std::mt19937 rng(18);
  testing::TempDir dir;
  const std::string jsonl = dir.file("spans.jsonl");
  auto store = Store::open(dir.file("spans.db"));
  ASSERT_TRUE(store);
  Config config = testing::sync_config();
  config.content.enabled = true;
  testing::TestSdk t(std::move(config));

  for (int round = 0; round < 150; ++round) {
    SCOPED_TRACE(round);
    std::map<std::string, std::string> headers;
    std::string local_id;
    {
      ConversationOptions options(random_text(rng));
      options.attributes = {{random_text(rng), random_text(rng)}};
      options.propagate = {options.attributes[0].key};
      auto conv = conversation("c" + random_text(rng), options);
      local_id = std::string(Context::current().conversation_id());
      auto wf = workflow(random_text(rng), random_text(rng));
      ObserveOptions call(random_text(rng), Kind::llm, random_text(rng), random_text(rng));
      call.input = random_text(rng);
      observe(call, [&](Span& span) {
        span.set_attribute(random_text(rng), random_text(rng));
        span.set_attribute_value(random_text(rng),
                                 std::vector<std::string>{random_text(rng), random_text(rng)});
        span.add_event(random_text(rng), {{random_text(rng), random_text(rng)}});
        span.set_status(StatusCode::error, random_text(rng));
        span.update_name(random_text(rng));
        span.record_output(random_text(rng));
        inject(headers);
      });
    }
    ASSERT_TRUE(utf8::valid(local_id));
    // Propagation: the headers are ASCII (baggage percent-encoded), and the
    // receiving side reads the very id the caller's spans carry.
    for (const auto& [name, value] : headers) {
      for (char c : value) ASSERT_LT(static_cast<unsigned char>(c), 0x80) << name;
    }
    Context remote = extract(headers, Context());
    ASSERT_EQ(remote.conversation_id(), local_id);
  }

  const std::vector<SpanData>& spans = t.spans();
  ASSERT_EQ(spans.size(), 300u);
  expect_valid(spans, "SDK");
  auto ptrs = testing::pointers(spans);
  SpanBatch batch(ptrs.data(), ptrs.size());

  // OTLP protobuf: our decoder finds nothing to repair.
  otlp::DecodeStats stats;
  auto proto = otlp::decode_trace_request(otlp::encode_trace_request(batch), {}, &stats);
  ASSERT_TRUE(proto);
  EXPECT_EQ(stats.repaired_strings, 0u);
  expect_valid(*proto, "OTLP protobuf");
  // OTLP/JSON: valid UTF-8 that a strict JSON parser accepts.
  std::string json_body = otlp::encode_trace_request_json(batch);
  EXPECT_TRUE(utf8::valid(json_body));
  EXPECT_FALSE(nlohmann::json::parse(json_body, nullptr, false).is_discarded());
  // JSON lines.
  {
    auto exporter = make_jsonl_exporter(jsonl);
    ASSERT_TRUE(exporter);
    ASSERT_EQ((*exporter)->export_batch(batch), ExportResult::success);
    (*exporter)->shutdown(std::chrono::milliseconds(1000));
  }
  std::ifstream in(jsonl, std::ios::binary);
  std::string line;
  size_t lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    ASSERT_TRUE(utf8::valid(line));
    ASSERT_FALSE(nlohmann::json::parse(line, nullptr, false).is_discarded());
  }
  EXPECT_EQ(lines, spans.size());
  // The store, from the SDK's spans and from spans built with raw bytes.
  ASSERT_FALSE((*store)->insert(batch));
  std::vector<SpanData> raw;
  for (int i = 0; i < 50; ++i) {
    SpanData s;
    s.trace_id.bytes[0] = 0xee;
    s.trace_id.bytes[15] = static_cast<uint8_t>(i + 1);
    s.span_id.bytes[7] = 1;
    s.name = random_text(rng);
    s.attributes = {{"gen_ai.conversation.id", random_text(rng)},
                    {random_text(rng), random_text(rng)}};
    s.events = {SpanEvent{random_text(rng), 1, {{random_text(rng), random_text(rng)}}, 0}};
    s.status = {StatusCode::error, random_text(rng)};
    raw.push_back(std::move(s));
  }
  ASSERT_FALSE((*store)->insert(raw));
  for (const SpanData& s : raw) {
    auto back = (*store)->load_trace(s.trace_id.hex());
    ASSERT_TRUE(back);
    expect_valid(*back, "store");
  }
  for (size_t i = 0; i < spans.size(); i += 37) {
    auto back = (*store)->load_trace(spans[i].trace_id.hex());
    ASSERT_TRUE(back);
    expect_valid(*back, "store");
    const std::string* id = find_string(spans[i].attributes, "gen_ai.conversation.id");
    ASSERT_NE(id, nullptr);
    auto conv = (*store)->conversation(*id);
    ASSERT_TRUE(conv) << "the stored id is the one the span carried";
  }
}

}  // namespace
}  // namespace convtrace
