// Request parameters and messages of each provider's request and response
// bodies, shaped as the providers' API references document them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "convtrace/usage.h"
#include "usage/messages.h"

namespace convtrace {
namespace {

using usage_internal::Message;
using usage_internal::Part;

RequestParams must(std::string_view body, std::string_view provider = {},
                   std::string_view url = {}) {
  auto p = parse_request(body, provider, url);
  EXPECT_TRUE(p) << (p ? "" : p.error().message);
  return p ? *p : RequestParams{};
}

TEST(ParseRequest, OpenAiChatCompletions) {
  RequestParams p = must(R"({"model": "gpt-4o", "temperature": 0.2, "top_p": 0.9,
      "max_completion_tokens": 512, "seed": 7, "stream": true, "stop": ["END", "\n\n"],
      "frequency_penalty": 0.5, "presence_penalty": -0.5, "n": 2,
      "messages": [{"role": "user", "content": "hi"}]})",
                         {}, "https://api.openai.com/v1/chat/completions");
  EXPECT_EQ(p.provider, "openai");
  EXPECT_EQ(p.model, "gpt-4o");
  EXPECT_EQ(p.temperature, 0.2);
  EXPECT_EQ(p.top_p, 0.9);
  EXPECT_EQ(p.max_tokens, 512);
  EXPECT_EQ(p.seed, 7);
  EXPECT_EQ(p.stream, true);
  EXPECT_EQ(p.stop_sequences, (std::vector<std::string>{"END", "\n\n"}));
  EXPECT_EQ(p.frequency_penalty, 0.5);
  EXPECT_EQ(p.presence_penalty, -0.5);
  EXPECT_EQ(p.choice_count, 2);
  EXPECT_EQ(p.server_address, "api.openai.com");
  EXPECT_EQ(p.server_port, 443);
}

TEST(ParseRequest, OneChoiceAndAStopStringAreAsTheConventionsWant) {
  RequestParams p = must(R"({"model": "m", "n": 1, "stop": "END"})");
  EXPECT_FALSE(p.choice_count);  // only recorded when it is not 1
  EXPECT_EQ(p.stop_sequences, std::vector<std::string>{"END"});
  EXPECT_FALSE(p.stream);
  EXPECT_TRUE(p.server_address.empty());
}

TEST(ParseRequest, EachProvidersNames) {
  struct Case {
    const char* what;
    const char* body;
    const char* url;
    std::string provider, model;
    std::optional<double> temperature, top_p, top_k;
    std::optional<int64_t> max_tokens, seed;
    std::optional<bool> stream;
  };
  const Case cases[] = {
      {"responses",
       R"({"model":"o3","input":"hi","instructions":"be brief","max_output_tokens":300,"temperature":1})",
       "https://api.openai.com/v1/responses",
       "openai",
       "o3",
       1.0,
       {},
       {},
       300,
       {},
       {}},
      {"anthropic",
       R"({"model":"claude-sonnet-4-5","max_tokens":1024,"temperature":0.7,"top_k":40,"top_p":0.95,
           "stop_sequences":["\n\nHuman:"],"system":"You are terse.","messages":[]})",
       "https://api.anthropic.com/v1/messages",
       "anthropic",
       "claude-sonnet-4-5",
       0.7,
       0.95,
       40.0,
       1024,
       {},
       {}},
      {"gemini",
       R"({"contents":[{"parts":[{"text":"hi"}]}],
           "generationConfig":{"temperature":0.3,"topP":0.8,"topK":20,"maxOutputTokens":256,"seed":3}})",
       "https://generativelanguage.googleapis.com/v1beta/models/"
       "gemini-2.5-flash:streamGenerateContent?alt=sse",
       "gcp.gemini", "gemini-2.5-flash", 0.3, 0.8, 20.0, 256, 3, true},
      {"vertex",
       R"({"contents":[{"role":"user","parts":[{"text":"hi"}]}]})",
       "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/"
       "publishers/google/models/gemini-2.5-pro:generateContent",
       "gcp.vertex_ai",
       "gemini-2.5-pro",
       {},
       {},
       {},
       {},
       {},
       {}},
      {"bedrock",
       R"({"messages":[{"role":"user","content":[{"text":"hi"}]}],
           "inferenceConfig":{"maxTokens":512,"temperature":0.5,"topP":0.9,"stopSequences":["x"]}})",
       "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
       "arn%3Aaws%3Abedrock%3Aus-east-1%3A123%3Ainference-profile%2Fus.anthropic.claude-3-7/"
       "converse-stream",
       "aws.bedrock",
       "arn:aws:bedrock:us-east-1:123:inference-profile/us.anthropic.claude-3-7",
       0.5,
       0.9,
       {},
       512,
       {},
       true},
      {"mistral",
       R"({"model":"mistral-small-latest","random_seed":42,"max_tokens":64,"messages":[]})",
       "https://api.mistral.ai/v1/chat/completions",
       "mistral_ai",
       "mistral-small-latest",
       {},
       {},
       {},
       64,
       42,
       {}},
      {"cohere",
       R"({"model":"command-a-03-2025","p":0.75,"k":10,"temperature":0.3,"messages":[]})",
       "https://api.cohere.com/v2/chat",
       "cohere",
       "command-a-03-2025",
       0.3,
       0.75,
       10.0,
       {},
       {},
       {}},
      {"ollama",
       R"({"model":"llama3.2","messages":[],"options":{"temperature":0.1,"num_predict":128,"seed":9}})",
       "http://localhost:11434/api/chat",
       "ollama",
       "llama3.2",
       0.1,
       {},
       {},
       128,
       9,
       true},
      {"ollama told not to stream",
       R"({"model":"llama3.2","prompt":"hi","stream":false,"options":{}})",
       "http://127.0.0.1:11434/api/generate",
       "ollama",
       "llama3.2",
       {},
       {},
       {},
       {},
       {},
       false},
      {"llama.cpp",
       R"({"prompt":"Hello","n_predict":32,"temperature":0.8,"top_k":40,"seed":1})",
       "http://localhost:8080/completion",
       "llama.cpp",
       "",
       0.8,
       {},
       40.0,
       32,
       1,
       {}},
      {"azure deployment",
       R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":100})",
       "https://contoso.openai.azure.com/openai/deployments/gpt4o-prod/chat/"
       "completions?api-version=2024-10-21",
       "azure.ai.openai",
       "gpt4o-prod",
       {},
       {},
       {},
       100,
       {},
       {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    RequestParams p = must(c.body, {}, c.url);
    EXPECT_EQ(p.provider, c.provider);
    EXPECT_EQ(p.model, c.model);
    EXPECT_EQ(p.temperature, c.temperature);
    EXPECT_EQ(p.top_p, c.top_p);
    EXPECT_EQ(p.top_k, c.top_k);
    EXPECT_EQ(p.max_tokens, c.max_tokens);
    EXPECT_EQ(p.seed, c.seed);
    EXPECT_EQ(p.stream, c.stream);
  }
}

TEST(ParseRequest, ServerAndPortFromTheUrl) {
  RequestParams p = must({}, "openai", "http://[::1]:8000/v1/chat/completions");
  EXPECT_EQ(p.server_address, "::1");
  EXPECT_EQ(p.server_port, 8000);
  EXPECT_EQ(p.provider, "openai");  // the hint wins
  p = must({}, {}, "https://user:secret@Example.COM/v1");
  EXPECT_EQ(p.server_address, "example.com");  // credentials never become an attribute
  EXPECT_EQ(p.server_port, 443);
}

TEST(ParseRequest, BadInputIsAnError) {
  EXPECT_EQ(parse_request("{not json").error().code, Error::parse_error);
  EXPECT_EQ(parse_request("[1, 2]").error().code, Error::parse_error);
  EXPECT_EQ(parse_request("{}", {}, "ftp://x/y").error().code, Error::invalid_argument);
}

std::string parts_of(const Message& m) {
  std::string out = m.role + ":";
  for (const Part& p : m.parts) {
    out += " " + p.type;
    if (!p.content.empty()) out += "(" + p.content + ")";
    if (!p.id.empty()) out += "#" + p.id;
    if (!p.name.empty()) out += "@" + p.name;
    if (!p.json.empty()) out += "=" + p.json;
  }
  if (!m.finish_reason.empty()) out += " [" + m.finish_reason + "]";
  return out;
}

std::vector<std::string> input_of(std::string_view body, std::string_view provider = {}) {
  auto c = usage_internal::request_content(body, provider);
  EXPECT_TRUE(c) << (c ? "" : c.error().message);
  std::vector<std::string> out;
  if (!c) return out;
  for (const Part& p : c->system)
    out.push_back("system-instruction: " + p.type + "(" + p.content + ")");
  for (const Message& m : c->input) out.push_back(parts_of(m));
  return out;
}

TEST(RequestContent, OpenAiMessagesWithToolCalls) {
  auto got = input_of(R"({"model":"gpt-4o","messages":[
      {"role":"system","content":"Be brief."},
      {"role":"user","content":[{"type":"text","text":"Weather?"},
                                {"type":"image_url","image_url":{"url":"https://x/y.png"}}]},
      {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
          "function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
      {"role":"tool","tool_call_id":"call_1","content":"rainy, 57F"}]})");
  EXPECT_EQ(got, (std::vector<std::string>{
                     "system: text(Be brief.)",  // in the history: stays an input message
                     "user: text(Weather?) uri(https://x/y.png)",
                     R"(assistant: tool_call#call_1@get_weather={"city":"Paris"})",
                     R"(tool: tool_call_response#call_1="rainy, 57F")"}));
}

TEST(RequestContent, AnthropicSystemApartAndBlocks) {
  auto got =
      input_of(R"({"model":"claude","max_tokens":10,"system":[{"type":"text","text":"Terse."}],
      "messages":[{"role":"user","content":"Hi"},
        {"role":"assistant","content":[{"type":"thinking","thinking":"hmm"},
          {"type":"tool_use","id":"toolu_1","name":"lookup","input":{"q":1}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"42"}]}]})");
  EXPECT_EQ(got, (std::vector<std::string>{
                     "system-instruction: text(Terse.)", "user: text(Hi)",
                     R"(assistant: reasoning(hmm) tool_call#toolu_1@lookup={"q":1})",
                     R"(user: tool_call_response#toolu_1="42")"}));
}

TEST(RequestContent, GeminiBedrockResponsesOllamaAndLlamaCpp) {
  EXPECT_EQ(input_of(R"({"systemInstruction":{"parts":[{"text":"Be kind."}]},
      "contents":[{"role":"user","parts":[{"text":"Hi"}]},
                  {"role":"model","parts":[{"functionCall":{"name":"f","args":{"a":1}}}]},
                  {"role":"user","parts":[{"functionResponse":{"name":"f","response":{"ok":true}}}]}]})"),
            (std::vector<std::string>{"system-instruction: text(Be kind.)", "user: text(Hi)",
                                      R"(assistant: tool_call@f={"a":1})",
                                      R"(user: tool_call_response@f={"ok":true})"}));
  EXPECT_EQ(
      input_of(R"({"system":[{"text":"Sys"}],"messages":[{"role":"user","content":[{"text":"Hi"}]},
      {"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"n","input":{}}}]}],
      "inferenceConfig":{}})"),
      (std::vector<std::string>{"system-instruction: text(Sys)", "user: text(Hi)",
                                "assistant: tool_call#t1@n={}"}));
  EXPECT_EQ(input_of(R"({"model":"o3","instructions":"Short.","input":[
      {"role":"user","content":[{"type":"input_text","text":"Hi"}]},
      {"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},
      {"type":"function_call_output","call_id":"c1","output":"done"}]})"),
            (std::vector<std::string>{"system-instruction: text(Short.)", "user: text(Hi)",
                                      "assistant: tool_call#c1@f={}",
                                      R"(tool: tool_call_response#c1="done")"}));
  EXPECT_EQ(input_of(R"({"model":"llama3.2","system":"Sys","prompt":"Hi","options":{}})", "ollama"),
            (std::vector<std::string>{"system-instruction: text(Sys)", "user: text(Hi)"}));
  EXPECT_EQ(input_of(R"({"prompt":"Hello","n_predict":8})"),
            (std::vector<std::string>{"user: text(Hello)"}));
  EXPECT_EQ(usage_internal::request_content(R"({"model":"e","input":["a","b"]})", {}).error().code,
            Error::not_found);  // embeddings have no messages
}

std::vector<std::string> output_of(const std::string& fixture) {
  std::string path = std::string(CONVTRACE_TEST_FIXTURES) + "/provider-responses/" + fixture;
  FILE* f = std::fopen(path.c_str(), "rb");
  EXPECT_NE(f, nullptr) << path;
  std::string body;
  char buf[4096];
  size_t n;
  while (f && (n = std::fread(buf, 1, sizeof buf, f)) > 0) body.append(buf, n);
  if (f) std::fclose(f);
  auto messages = usage_internal::response_content(body, {});
  EXPECT_TRUE(messages) << fixture << ": " << (messages ? "" : messages.error().message);
  std::vector<std::string> out;
  if (messages) {
    for (const Message& m : *messages) out.push_back(parts_of(m));
  }
  return out;
}

TEST(ResponseContent, RecordedBodiesOfEveryProvider) {
  EXPECT_EQ(output_of("openai_chat_completion.json"),
            std::vector<std::string>{"assistant: text(Hello! How can I assist you today?) [stop]"});
  EXPECT_EQ(output_of("anthropic_messages.json"),
            std::vector<std::string>{"assistant: text(Hi! My name is Claude.) [end_turn]"});
  for (const char* fixture :
       {"gemini_generate_content_thinking.json", "bedrock_converse.json", "cohere_v2_chat.json",
        "mistral_chat.json", "ollama_chat.json", "ollama_chat_tools.json",
        "openai_responses_reasoning.json", "openai_chat_completion_reasoning.json"}) {
    auto got = output_of(fixture);
    ASSERT_FALSE(got.empty()) << fixture;
    EXPECT_EQ(got[0].rfind("assistant:", 0), 0u) << fixture << ": " << got[0];
  }
  EXPECT_EQ(usage_internal::response_content(R"({"object":"list","data":[]})", {}).error().code,
            Error::not_found);
}

TEST(SchemaMessages, AcceptsOnlyTheSchema) {
  auto ok = usage_internal::schema_messages(
      R"([{"role":"user","parts":[{"type":"text","content":"hi"},{"type":"my_part","x":1}]}])");
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->size(), 1u);
  ASSERT_EQ((*ok)[0].parts.size(), 2u);
  EXPECT_EQ((*ok)[0].parts[1].json, R"({"type":"my_part","x":1})");  // kept whole
  EXPECT_FALSE(usage_internal::schema_messages("plain text"));
  EXPECT_FALSE(usage_internal::schema_messages(R"([{"role":"user","content":"hi"}])"));
}

}  // namespace
}  // namespace convtrace
