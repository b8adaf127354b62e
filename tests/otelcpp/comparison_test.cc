// The three classic scenarios through the bridge and through convtrace's own
// SDK give the same spans: names, kinds, parents, every attribute, exact costs.
#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "examples/scenarios.h"
#include "otelcpp/otel_pipeline.h"
#include "support/test_sdk.h"

namespace convtrace::testing {
namespace {

std::vector<FlatSpan> run_native(const std::function<void()>& scenario) {
  Config config = sync_config();
  config.pricing = test_pricing();
  TestSdk native(std::move(config));
  scenario();
  std::vector<FlatSpan> out;
  for (const SpanData& s : native.spans()) out.push_back(flatten(s));
  return out;
}

std::vector<FlatSpan> run_bridged(const std::function<void()>& scenario) {
  OtelPipeline p(true);
  scenario();
  return p.spans();
}

// Index of each span's parent within the same run (-1: a root).
std::vector<int> parent_indexes(const std::vector<FlatSpan>& spans) {
  std::map<std::string, int> index;
  for (size_t i = 0; i < spans.size(); ++i) index[spans[i].span_id.hex()] = static_cast<int>(i);
  std::vector<int> parents;
  for (const FlatSpan& s : spans) {
    auto it = index.find(s.parent_span_id.hex());
    parents.push_back(s.parent_span_id.valid() && it != index.end() ? it->second : -1);
  }
  return parents;
}

std::string describe(const AttributeValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return '"' + x + '"';
        } else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, int64_t> ||
                             std::is_same_v<T, double>) {
          return std::to_string(x);
        } else {
          return "[" + std::to_string(x.size()) + " items]";
        }
      },
      v);
}

void expect_same_spans(const std::vector<FlatSpan>& native, const std::vector<FlatSpan>& bridged) {
  ASSERT_EQ(native.size(), bridged.size());
  ASSERT_FALSE(native.empty());
  std::vector<int> native_parents = parent_indexes(native);
  std::vector<int> bridged_parents = parent_indexes(bridged);
  for (size_t i = 0; i < native.size(); ++i) {
    const FlatSpan& a = native[i];
    const FlatSpan& b = bridged[i];
    SCOPED_TRACE("span " + std::to_string(i) + " '" + a.name + "'");
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(native_parents[i], bridged_parents[i]);
    EXPECT_EQ(a.event_names, b.event_names);
    for (const auto& [key, value] : a.attributes) {
      const AttributeValue* other = b.find(key);
      if (!other) {
        ADD_FAILURE() << "bridged span lacks " << key;
        continue;
      }
      EXPECT_TRUE(value == *other)
          << key << ": native " << describe(value) << ", bridged " << describe(*other);
    }
    for (const auto& [key, value] : b.attributes) {
      EXPECT_NE(a.find(key), nullptr) << "bridged span has an extra " << key;
    }
  }
}

TEST(BridgeComparison, ThreeTurnChatIsTheSameOnBothPaths) {
  std::vector<FlatSpan> native = run_native(scenarios::three_turn_chat);
  std::vector<FlatSpan> bridged = run_bridged(scenarios::three_turn_chat);
  expect_same_spans(native, bridged);
  ASSERT_EQ(bridged.size(), 3u);
  EXPECT_EQ(bridged[2].integer("gen_ai.conversation.turn"), 3);
}

TEST(BridgeComparison, RagWorkflowIsTheSameOnBothPaths) {
  std::vector<FlatSpan> native = run_native(scenarios::rag_workflow);
  std::vector<FlatSpan> bridged = run_bridged(scenarios::rag_workflow);
  expect_same_spans(native, bridged);
  const FlatSpan* wf = only(bridged, "invoke_workflow rag");
  ASSERT_NE(wf, nullptr);
  // The exact sum of the three priced calls inside, computed by hand.
  Pricing prices = test_pricing();
  auto cost = [&](const char* model, int64_t in, int64_t out) {
    Usage u;
    u.input_tokens = in;
    u.output_tokens = out;
    return compute_cost(u, *prices.find(model))->total_pico;
  };
  int64_t expected = cost("text-embedding-3-small", 12, 0) + cost("gpt-4o-mini", 800, 20) +
                     cost("gpt-4o", 1234, 567);
  EXPECT_EQ(wf->integer("workflow.total_cost_pico_usd"), expected);
}

TEST(BridgeComparison, ConversationOfRagTurnsIsTheSameOnBothPaths) {
  std::vector<FlatSpan> native = run_native(scenarios::conversation_of_rag_turns);
  std::vector<FlatSpan> bridged = run_bridged(scenarios::conversation_of_rag_turns);
  expect_same_spans(native, bridged);
}

}  // namespace
}  // namespace convtrace::testing
