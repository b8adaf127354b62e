#include "demo_scenario.h"

#include <stdexcept>
#include <string>
#include <thread>

#include "convtrace/convtrace.h"

namespace convtrace::demo {
namespace {

using Progress = std::function<void(std::string_view)>;

// One model call answered with a recorded response body.
std::string llm(const std::string& name, const std::string& model, const std::string& provider,
                const std::string& prompt, const char* fixture, const std::string& reply,
                Kind kind = Kind::llm) {
  ObserveOptions options{name, kind, model, provider};
  options.input = prompt;
  return observe(options, [&](Span& span) {
    span.record_response(recorded_response(fixture), provider);
    // The recorded bodies answer other questions: the story's reply is the output.
    span.record_output(reply);
    return reply;
  });
}

std::string tool(const std::string& name, const std::string& input, const std::string& output,
                 Kind kind = Kind::tool) {
  ObserveOptions options{name, kind};
  options.input = input;
  return observe(options, [&] { return output; });
}

void support_789(const Progress& progress) {
  auto conv = conversation("support_789", {"acme"});
  progress("acme      support_789    turn 1  chat                gpt-5.4");
  llm("chat", "gpt-5.4", "openai", "Hi, my March invoice looks too high.",
      "openai_chat_completion.json", "Sorry to hear that. Could you share the invoice number?");

  progress(
      "acme      support_789    turn 2  workflow rag_v2     text-embedding-ada-002, "
      "claude-sonnet-4-5");
  {
    auto wf = workflow("rag_support_789_2", "rag_v2");
    llm("embed query", "text-embedding-ada-002", "openai", "invoice INV-2291 overcharge",
        "openai_embeddings.json", "[0.0023064255, -0.009327292, -0.0028842222]", Kind::embedding);
    tool("vector_search", "top_k=4 invoice INV-2291",
         "billing-faq#12, pricing-2024#3, invoice-policy#7, refunds#2", Kind::retriever);
    llm("generate", "claude-sonnet-4-5", "anthropic",
        "Context: billing-faq#12 … Question: why is INV-2291 higher than usual?",
        "anthropic_messages.json",
        "INV-2291 includes a prorated seat upgrade from March 14; the extra is $42.10.");
  }

  progress("acme      support_789    turn 3  chat (cached)       o1");
  llm("chat", "o1", "openai", "Can you split the prorated part by seat?",
      "openai_chat_completion_cached_reasoning.json",
      "Three seats were added on March 14; each accounts for $14.03 of the difference.");
}

void support_790(const Progress& progress) {
  auto conv = conversation("support_790", {"acme"});
  progress(
      "acme      support_790    turn 1  workflow agent_v1   o1, 2 tools, gemini-3-pro-preview");
  {
    auto wf = workflow("agent_support_790_1", "agent_v1");
    llm("plan", "o1", "openai", "User asks where order 5531 is and whether it was billed.",
        "openai_responses_reasoning.json",
        "1. search_orders(5531) 2. lookup_invoice(5531) 3. answer", Kind::agent);
    // The two tool calls run in parallel; wrap() carries the trace, conversation
    // and workflow to the worker thread.
    std::thread worker(
        wrap([] { tool("lookup_invoice", "order=5531", "INV-2307 paid 2024-03-02"); }));
    tool("search_orders", "order=5531", "shipped 2024-03-03, carrier DHL, tracking 88412");
    worker.join();
    llm("answer", "gemini-3-pro-preview", "gcp.gemini",
        "Order 5531: shipped, invoice INV-2307 paid. Write the reply.",
        "gemini_generate_content_thinking.json",
        "Order 5531 shipped on March 3 with DHL (88412); invoice INV-2307 is paid.");
  }

  progress("acme      support_790    turn 2  chat fails, retried mistral-small-latest");
  observe({"handle_message", Kind::chain}, [] {
    try {
      observe({"chat", Kind::llm, "gpt-5.4", "openai"}, []() -> std::string {
        throw std::runtime_error("upstream timeout after 30s (simulated)");
      });
    } catch (const std::exception&) {
      // The application falls back to a cheaper model.
    }
    return llm("chat", "mistral-small-latest", "mistral_ai", "Can I get a refund for shipping?",
               "mistral_chat.json", "Yes: shipping on late orders is refunded within 5 days.");
  });
}

void sales_101(const Progress& progress) {
  auto conv = conversation("sales_101", {"globex"});
  progress(
      "globex    sales_101      turn 1  workflow rag_v1     text-embedding-ada-002, "
      "mistral-small-latest");
  {
    auto wf = workflow("rag_sales_101_1", "rag_v1");
    llm("embed query", "text-embedding-ada-002", "openai", "enterprise plan SSO pricing",
        "openai_embeddings.json", "[0.0023064255, -0.009327292, -0.0028842222]", Kind::embedding);
    tool("vector_search", "top_k=4 enterprise SSO", "plans#4, sso#1, security#9, pricing#2",
         Kind::retriever);
    llm("generate", "mistral-small-latest", "mistral_ai",
        "Context: plans#4 … Question: does the enterprise plan include SSO?", "mistral_chat.json",
        "Yes, SSO (SAML and OIDC) is included in the enterprise plan.");
  }
  progress("globex    sales_101      turn 2  chat                gpt-5.4");
  llm("chat", "gpt-5.4", "openai", "Great, can you send a quote for 40 seats?",
      "openai_chat_completion.json", "Sent: 40 enterprise seats, annual billing, quote Q-7781.");
}

void onboarding_42(const Progress& progress) {
  auto conv = conversation("onboarding_42", {"initech"});
  progress("initech   onboarding_42  turn 1  chat                gemini-3-pro-preview");
  llm("chat", "gemini-3-pro-preview", "gcp.gemini", "How do I invite my team?",
      "gemini_generate_content_thinking.json",
      "Open Settings → Members → Invite, then paste their e-mail addresses.");
}

}  // namespace

void run_scenario(const Progress& progress) {
  Progress say = progress ? progress : [](std::string_view) {};
  support_789(say);
  support_790(say);
  sales_101(say);
  onboarding_42(say);
}

}  // namespace convtrace::demo
