// The three classic scenarios, instrumented with convtrace (shared by the
// examples and the tests that compare span backends):
//   1. a 3-turn chat in one conversation;
//   2. a RAG workflow (embedding, rerank, generate) with its exact total cost;
//   3. a conversation whose two turns each run a RAG workflow.
//
// The LLM client is a stand-in that returns fixed token usage, so nothing
// needs a network or API keys.
#pragma once

#include <string>
#include <vector>

#include "convtrace/convtrace.h"

namespace scenarios {

// What an LLM client library would give back: text and token usage.
struct Completion {
  std::string text;
  convtrace::Usage usage;
};

inline Completion fake_llm(const std::string& model, const std::string& prompt, int64_t in,
                           int64_t out) {
  Completion c;
  c.text = "[" + model + "] answer to: " + prompt;
  c.usage.input_tokens = in;
  c.usage.output_tokens = out;
  c.usage.model = model;
  c.usage.provider = "openai";
  return c;
}

inline std::string chat(const std::string& prompt) {
  return convtrace::observe({"chat", convtrace::Kind::llm, "gpt-4o", "openai"},
                            [&](convtrace::Span& span) {
                              Completion c = fake_llm("gpt-4o", prompt, 1234, 567);
                              span.record_usage(c.usage);
                              return c.text;
                            });
}

inline std::vector<float> embed(const std::string& text) {
  return convtrace::observe(
      {"embed", convtrace::Kind::embedding, "text-embedding-3-small", "openai"},
      [&](convtrace::Span& span) {
        span.record_usage(fake_llm("text-embedding-3-small", text, 12, 0).usage);
        return std::vector<float>(8, 0.5f);
      });
}

inline std::vector<std::string> retrieve(const std::vector<float>& /*query_vector*/) {
  return convtrace::observe({"vector_search", convtrace::Kind::retriever}, [] {
    return std::vector<std::string>{"doc-a", "doc-b", "doc-c"};
  });
}

inline std::vector<std::string> rerank(std::vector<std::string> docs, const std::string& query) {
  return convtrace::observe({"rerank", convtrace::Kind::llm, "gpt-4o-mini", "openai"},
                            [&](convtrace::Span& span) {
                              span.record_usage(fake_llm("gpt-4o-mini", query, 800, 20).usage);
                              return docs;
                            });
}

inline std::string generate(const std::vector<std::string>& docs, const std::string& query) {
  return convtrace::observe(
      {"generate", convtrace::Kind::llm, "gpt-4o", "openai"}, [&](convtrace::Span& span) {
        Completion c = fake_llm("gpt-4o", query + " using " + docs[0], 1234, 567);
        span.record_usage(c.usage);
        return c.text;
      });
}

inline std::string rag(const std::string& workflow_id, const std::string& query) {
  auto wf = convtrace::workflow(workflow_id, "rag");
  auto docs = rerank(retrieve(embed(query)), query);
  return generate(docs, query);
}

// Scenario 1: a 3-turn chat in one conversation.
inline void three_turn_chat() {
  auto conv = convtrace::conversation("user_123_session_456", {"user_123"});
  chat("Hello!");
  chat("What can you do?");
  chat("Thanks, bye.");
}

// Scenario 2: a RAG workflow on its own.
inline void rag_workflow() { rag("rag_12345", "How do refunds work?"); }

// Scenario 3: a conversation whose two turns each run a RAG workflow.
inline void conversation_of_rag_turns() {
  auto conv = convtrace::conversation("support_789", {"user_456"});
  rag("rag_turn_1", "My order is late.");
  rag("rag_turn_2", "Can I get a refund?");
}

}  // namespace scenarios
