#include <gtest/gtest.h>

#include "support/test_sdk.h"

namespace convtrace {
namespace {

using testing::TestSdk;

SamplingInput input_for(const Context& parent, const TraceId& id) {
  return SamplingInput{parent, id, "s", SpanKind::internal};
}

TraceId trace_id_with_low(uint64_t low) {
  TraceId id;
  id.bytes[0] = 1;
  for (int i = 0; i < 8; ++i) id.bytes[15 - i] = static_cast<uint8_t>(low >> (8 * i));
  return id;
}

TEST(Sampler, AlwaysOnOff) {
  Context none;
  TraceId id = trace_id_with_low(5);
  EXPECT_TRUE(always_on_sampler()->should_sample(input_for(none, id)));
  EXPECT_FALSE(always_off_sampler()->should_sample(input_for(none, id)));
}

TEST(Sampler, TraceIdRatioComparesLowEightBytes) {
  Context none;
  auto half = trace_id_ratio_sampler(0.5);
  EXPECT_TRUE(half->should_sample(input_for(none, trace_id_with_low(0x3FFFFFFFFFFFFFFFULL))));
  EXPECT_FALSE(half->should_sample(input_for(none, trace_id_with_low(0x4000000000000000ULL))));
  EXPECT_FALSE(trace_id_ratio_sampler(0.0)->should_sample(input_for(none, trace_id_with_low(0))));
  EXPECT_TRUE(trace_id_ratio_sampler(1.0)->should_sample(
      input_for(none, trace_id_with_low(0x7FFFFFFFFFFFFFFFULL))));
  EXPECT_EQ(half->description(), "TraceIdRatioBased{0.5}");
}

TEST(Sampler, ParentBasedFollowsParent) {
  auto sampler = parent_based_sampler(always_off_sampler());
  SpanContext sampled_parent;
  sampled_parent.trace_id = trace_id_with_low(9);
  sampled_parent.span_id.bytes[0] = 1;
  sampled_parent.flags = 1;
  Context with_parent = Context().with_span_context(sampled_parent);
  EXPECT_TRUE(sampler->should_sample(input_for(with_parent, sampled_parent.trace_id)));
  sampled_parent.flags = 0;
  Context unsampled = Context().with_span_context(sampled_parent);
  EXPECT_FALSE(parent_based_sampler(always_on_sampler())
                   ->should_sample(input_for(unsampled, sampled_parent.trace_id)));
  EXPECT_FALSE(sampler->should_sample(input_for(Context(), trace_id_with_low(1))));
}

TEST(Sampler, ConversationSamplerKeepsWholeConversations) {
  Config c = testing::sync_config();
  c.sampler = conversation_sampler(0.5);
  TestSdk t(std::move(c));
  int kept_conversations = 0;
  for (int i = 0; i < 200; ++i) {
    std::string id = "conv-" + std::to_string(i);
    bool expected = (conversation_hash(id) & 0x7FFFFFFFFFFFFFFFULL) < (1ULL << 62);
    std::set<bool> decisions;
    for (int turn = 0; turn < 3; ++turn) {
      auto conv = conversation(id);
      Span s = start_span("turn");  // a new trace each time
      decisions.insert(s.recording());
    }
    ASSERT_EQ(decisions.size(), 1u) << "conversation " << id << " was split";
    EXPECT_EQ(*decisions.begin(), expected);
    kept_conversations += expected ? 1 : 0;
  }
  EXPECT_GT(kept_conversations, 60);
  EXPECT_LT(kept_conversations, 140);
}

TEST(Sampler, ConversationHashIsStable) {
  // Fixed values so other implementations can check agreement.
  EXPECT_EQ(conversation_hash(""), conversation_hash(""));
  EXPECT_NE(conversation_hash("a"), conversation_hash("b"));
  uint64_t h = conversation_hash("support_789");
  EXPECT_EQ(h, conversation_hash(std::string("support_789")));
}

TEST(Sampler, UnsampledSpansStillCountTurns) {
  Config c = testing::sync_config();
  c.sampler = always_off_sampler();
  TestSdk t(std::move(c));
  auto conv = conversation("unsampled-conv");
  {
    Span a = start_span("a");
    EXPECT_FALSE(a.recording());
    EXPECT_TRUE(a.context().valid());
  }
  {
    Span b = start_span("b");
    EXPECT_EQ(b.child_context().turn(), 2);
  }
  EXPECT_TRUE(t.spans().empty());
  EXPECT_EQ(t.sdk->stats().spans_unsampled, 2u);
}

}  // namespace
}  // namespace convtrace
