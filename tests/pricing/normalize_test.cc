// normalize_model: each decoration providers add, removed; nothing else touched.
#include <gtest/gtest.h>

#include "convtrace/pricing.h"

namespace convtrace {
namespace {

struct Case {
  const char* in;
  const char* out;
};

class NormalizeModel : public ::testing::TestWithParam<Case> {};

TEST_P(NormalizeModel, Table) { EXPECT_EQ(normalize_model(GetParam().in), GetParam().out); }

INSTANTIATE_TEST_SUITE_P(
    Ids, NormalizeModel,
    ::testing::Values(
        Case{"gpt-4o", "gpt-4o"}, Case{"GPT-4o", "gpt-4o"}, Case{"  gpt-4o\n", "gpt-4o"},
        Case{"gpt-4o-2024-08-06", "gpt-4o"}, Case{"openai/gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
        Case{"azure/my-deployment", "my-deployment"},
        Case{"claude-3-5-sonnet-20241022", "claude-3-5-sonnet"},
        Case{"claude-3-5-sonnet@20240620", "claude-3-5-sonnet"},
        Case{"anthropic/claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
        Case{"us.anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet"},
        Case{"anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet"},
        Case{"bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"},
        Case{"global.anthropic.claude-opus-4-6-v1", "claude-opus-4-6"},
        Case{"anthropic.claude-haiku-4-5@20251001", "claude-haiku-4-5"},
        Case{"amazon.nova-pro-v1:0", "nova-pro"},
        Case{"us.amazon.nova-premier-v1:0", "nova-premier"},
        Case{"vertex_ai/claude-opus-4-1@20250805", "claude-opus-4-1"},
        Case{"projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-pro",
             "gemini-2.5-pro"},
        Case{"publishers/google/models/gemini-2.5-flash", "gemini-2.5-flash"},
        Case{"models/gemini-2.0-flash-001", "gemini-2.0-flash"},
        Case{"gemini/gemini-2.5-flash", "gemini-2.5-flash"}, Case{"o1-2024-12-17", "o1"},
        Case{"o1", "o1"},
        // Kept on purpose: -latest and four-digit snapshots can be priced differently.
        Case{"mistral-large-latest", "mistral-large-latest"},
        Case{"mistral-large-2411", "mistral-large-2411"}, Case{"gpt-4-0613", "gpt-4-0613"},
        Case{"text-embedding-004", "text-embedding-004"}, Case{"us.foo", "us.foo"},
        Case{"llama3.2:latest", "llama3.2:latest"}, Case{"", ""}, Case{"openai/", "openai/"}));

}  // namespace
}  // namespace convtrace
