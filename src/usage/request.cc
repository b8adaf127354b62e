// Request parameters and the messages of request and response bodies.
#include <simdjson.h>

#include <cmath>

#include "common/percent.h"
#include "convtrace/usage.h"
#include "usage/messages.h"

namespace convtrace {
namespace {

namespace dom = simdjson::dom;
using simdjson::SUCCESS;
using usage_internal::Message;
using usage_internal::Part;

// --- JSON access ------------------------------------------------------------------

bool child(dom::object o, std::string_view key, dom::element* out) {
  return o.at_key(key).get(*out) == SUCCESS;
}

std::string_view text_of(dom::element e) {
  std::string_view v;
  return e.get_string().get(v) == SUCCESS ? v : std::string_view();
}

std::string_view text_at(dom::object o, std::string_view key) {
  dom::element e;
  return child(o, key, &e) ? text_of(e) : std::string_view();
}

bool object_at(dom::object o, std::string_view key, dom::object* out) {
  dom::element e;
  return child(o, key, &e) && e.get_object().get(*out) == SUCCESS;
}

bool array_at(dom::object o, std::string_view key, dom::array* out) {
  dom::element e;
  return child(o, key, &e) && e.get_array().get(*out) == SUCCESS;
}

std::optional<double> number_of(dom::element e) {
  double d = 0;
  if (e.get_double().get(d) == SUCCESS) return d;
  int64_t i = 0;
  if (e.get_int64().get(i) == SUCCESS) return static_cast<double>(i);
  uint64_t u = 0;
  if (e.get_uint64().get(u) == SUCCESS) return static_cast<double>(u);
  return std::nullopt;
}

std::optional<int64_t> integer_of(dom::element e) {
  int64_t i = 0;
  if (e.get_int64().get(i) == SUCCESS) return i;
  double d = 0;
  if (e.get_double().get(d) == SUCCESS && std::isfinite(d) && std::floor(d) == d &&
      std::fabs(d) < 9.0e15) {
    return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

// JSON text of any element (objects and arrays as they are, strings quoted).
std::string json_of(dom::element e) { return simdjson::to_string(e); }

// A JSON value given as a string that holds JSON (OpenAI tool arguments): the
// JSON itself when it parses, else the string as a JSON string.
std::string json_from_text(dom::element e) {
  std::string_view s;
  if (e.get_string().get(s) != SUCCESS) return json_of(e);
  dom::parser inner;
  dom::element parsed;
  if (inner.parse(s.data(), s.size()).get(parsed) == SUCCESS) return json_of(parsed);
  return json_of(e);
}

Error parse_failure(simdjson::error_code code) {
  return Error{Error::parse_error,
               std::string("request or response body: ") + simdjson::error_message(code)};
}

// --- Messages -----------------------------------------------------------------------

Part text_part(std::string_view text, const char* type = "text") {
  Part p;
  p.type = type;
  p.content = std::string(text);
  return p;
}

// data:image/png;base64,AAAA → a blob part; any other URL → a uri part.
Part url_part(std::string_view url) {
  Part p;
  if (url.rfind("data:", 0) == 0) {
    size_t comma = url.find(',');
    size_t semi = url.find(';');
    p.type = "blob";
    p.mime_type = std::string(url.substr(5, std::min(semi, comma) - 5));
    p.content =
        comma == std::string_view::npos ? std::string() : std::string(url.substr(comma + 1));
  } else {
    p.type = "uri";
    p.content = std::string(url);
  }
  return p;
}

void add_anthropic_block(dom::object block, std::vector<Part>& parts);

// A tool call ("tool_call") or its result ("tool_call_response"): its id and
// name from `ids`, its JSON from `holder`'s `json_key` (`from_text`: a string
// holding JSON, as OpenAI sends arguments).
Part tool_part(const char* type, dom::object ids, std::string_view id_key, dom::object holder,
               std::string_view json_key, bool from_text = false) {
  Part p;
  p.type = type;
  p.id = std::string(text_at(ids, id_key));
  p.name = std::string(text_at(holder, "name"));
  dom::element v;
  if (child(holder, json_key, &v)) p.json = from_text ? json_from_text(v) : json_of(v);
  return p;
}

// Message content: a string, or an array of typed parts (OpenAI, Cohere,
// Mistral, and Anthropic's blocks).
void add_openai_content(dom::element content, std::vector<Part>& parts) {
  std::string_view s;
  if (content.get_string().get(s) == SUCCESS) {
    if (!s.empty()) parts.push_back(text_part(s));
    return;
  }
  dom::array items;
  if (content.get_array().get(items) != SUCCESS) return;
  for (dom::element item : items) {
    dom::object o;
    if (item.get_object().get(o) != SUCCESS) continue;
    std::string_view type = text_at(o, "type");
    if (type == "text" || type == "input_text" || type == "output_text") {
      parts.push_back(text_part(text_at(o, "text")));
    } else if (type == "refusal") {
      parts.push_back(text_part(text_at(o, "refusal")));
    } else if (type == "image_url") {
      dom::object image;
      if (object_at(o, "image_url", &image)) parts.push_back(url_part(text_at(image, "url")));
    } else if (type == "input_image") {
      parts.push_back(url_part(text_at(o, "image_url")));
    } else {
      add_anthropic_block(o, parts);  // Anthropic's blocks share the message shape
    }
  }
}

// OpenAI tool_calls: [{id, function: {name, arguments}}] (arguments a JSON
// string, or an object for Ollama).
void add_openai_tool_calls(dom::object message, std::vector<Part>& parts) {
  dom::array calls;
  if (!array_at(message, "tool_calls", &calls)) return;
  for (dom::element call : calls) {
    dom::object c, fn;
    if (call.get_object().get(c) != SUCCESS || !object_at(c, "function", &fn)) continue;
    parts.push_back(tool_part("tool_call", c, "id", fn, "arguments", true));
  }
}

Message openai_message(dom::object m) {
  Message msg;
  msg.role = std::string(text_at(m, "role"));
  dom::element content;
  if (msg.role == "tool") {
    msg.parts.push_back(tool_part("tool_call_response", m, "tool_call_id", m, "content"));
    return msg;
  }
  std::string_view thinking = text_at(m, "thinking");  // Ollama
  if (!thinking.empty()) msg.parts.push_back(text_part(thinking, "reasoning"));
  std::string_view reasoning = text_at(m, "reasoning_content");  // DeepSeek and others
  if (!reasoning.empty()) msg.parts.push_back(text_part(reasoning, "reasoning"));
  if (child(m, "content", &content)) add_openai_content(content, msg.parts);
  add_openai_tool_calls(m, msg.parts);
  return msg;
}

// One Anthropic content block (text, thinking, tool use and result, image).
void add_anthropic_block(dom::object b, std::vector<Part>& parts) {
  {
    std::string_view type = text_at(b, "type");
    if (type == "text") {
      parts.push_back(text_part(text_at(b, "text")));
    } else if (type == "thinking") {
      parts.push_back(text_part(text_at(b, "thinking"), "reasoning"));
    } else if (type == "tool_use" || type == "server_tool_use") {
      parts.push_back(tool_part("tool_call", b, "id", b, "input"));
    } else if (type == "tool_result") {
      parts.push_back(tool_part("tool_call_response", b, "tool_use_id", b, "content"));
    } else if (type == "image" || type == "document") {
      dom::object source;
      if (!object_at(b, "source", &source)) return;
      if (text_at(source, "type") == "base64") {
        Part p;
        p.type = "blob";
        p.mime_type = std::string(text_at(source, "media_type"));
        p.content = std::string(text_at(source, "data"));
        parts.push_back(std::move(p));
      } else {
        parts.push_back(url_part(text_at(source, "url")));
      }
    } else if (!type.empty()) {
      Part generic;
      generic.type = std::string(type);
      parts.push_back(std::move(generic));
    }
  }
}

// Gemini parts: text, thoughts, function calls and responses, inline and file data.
void add_gemini_parts(dom::object content, std::vector<Part>& parts) {
  dom::array items;
  if (!array_at(content, "parts", &items)) return;
  for (dom::element item : items) {
    dom::object o, inner;
    if (item.get_object().get(o) != SUCCESS) continue;
    dom::element thought;
    bool is_thought = false;
    if (child(o, "thought", &thought) && thought.get_bool().get(is_thought) != SUCCESS) {
      is_thought = false;
    }
    if (dom::element t; child(o, "text", &t)) {
      parts.push_back(text_part(text_of(t), is_thought ? "reasoning" : "text"));
    } else if (object_at(o, "functionCall", &inner)) {
      parts.push_back(tool_part("tool_call", inner, "id", inner, "args"));
    } else if (object_at(o, "functionResponse", &inner)) {
      parts.push_back(tool_part("tool_call_response", inner, "id", inner, "response"));
    } else if (object_at(o, "inlineData", &inner)) {
      Part p;
      p.type = "blob";
      p.mime_type = std::string(text_at(inner, "mimeType"));
      p.content = std::string(text_at(inner, "data"));
      parts.push_back(std::move(p));
    } else if (object_at(o, "fileData", &inner)) {
      Part p = url_part(text_at(inner, "fileUri"));
      p.mime_type = std::string(text_at(inner, "mimeType"));
      parts.push_back(std::move(p));
    }
  }
}

std::string gemini_role(std::string_view role) {
  if (role == "model") return "assistant";
  return role.empty() ? std::string("user") : std::string(role);
}

// Bedrock Converse content blocks.
void add_bedrock_blocks(dom::array blocks, std::vector<Part>& parts) {
  for (dom::element block : blocks) {
    dom::object b, inner;
    if (block.get_object().get(b) != SUCCESS) continue;
    if (dom::element t; child(b, "text", &t)) {
      parts.push_back(text_part(text_of(t)));
    } else if (object_at(b, "toolUse", &inner)) {
      parts.push_back(tool_part("tool_call", inner, "toolUseId", inner, "input"));
    } else if (object_at(b, "toolResult", &inner)) {
      parts.push_back(tool_part("tool_call_response", inner, "toolUseId", inner, "content"));
    } else if (object_at(b, "reasoningContent", &inner)) {
      dom::object reasoning;
      if (object_at(inner, "reasoningText", &reasoning)) {
        parts.push_back(text_part(text_at(reasoning, "text"), "reasoning"));
      }
    } else if (b.size() > 0) {
      Part generic;
      generic.type = std::string((*b.begin()).key);  // "image", "document", …
      parts.push_back(std::move(generic));
    }
  }
}

// Responses API items (request input or response output) as messages.
void add_responses_items(dom::array items, std::vector<Message>& out) {
  for (dom::element item : items) {
    dom::object o;
    if (item.get_object().get(o) != SUCCESS) continue;
    std::string_view type = text_at(o, "type");
    if (type.empty() || type == "message") {
      Message m;
      m.role = std::string(text_at(o, "role"));
      dom::element content;
      if (child(o, "content", &content)) add_openai_content(content, m.parts);
      out.push_back(std::move(m));
    } else if (type == "function_call") {
      if (out.empty() || out.back().role != "assistant")
        out.push_back(Message{"assistant", {}, {}});
      out.back().parts.push_back(tool_part("tool_call", o, "call_id", o, "arguments", true));
    } else if (type == "function_call_output") {
      out.push_back(
          Message{"tool", {tool_part("tool_call_response", o, "call_id", o, "output")}, {}});
    } else if (type == "reasoning") {
      dom::array summary;
      if (!array_at(o, "summary", &summary)) continue;
      if (out.empty() || out.back().role != "assistant")
        out.push_back(Message{"assistant", {}, {}});
      for (dom::element s : summary) {
        dom::object so;
        if (s.get_object().get(so) == SUCCESS) {
          out.back().parts.push_back(text_part(text_at(so, "text"), "reasoning"));
        }
      }
    }
  }
}

// --- Shapes --------------------------------------------------------------------------

enum class Shape {
  openai_chat,  // also Azure, Mistral, Cohere v2, Ollama /api/chat, llama.cpp's OpenAI server
  responses,
  anthropic,
  gemini,
  bedrock,
  ollama_generate,  // also llama.cpp /completion: a prompt string
  embeddings,
  unknown,
};

bool first_content_block_is_bedrock(dom::object body) {
  dom::array messages;
  if (!array_at(body, "messages", &messages) || messages.size() == 0) return false;
  dom::object first;
  dom::array content;
  if ((*messages.begin()).get_object().get(first) != SUCCESS ||
      !array_at(first, "content", &content) || content.size() == 0) {
    return false;
  }
  dom::object block;
  if ((*content.begin()).get_object().get(block) != SUCCESS) return false;
  dom::element type;
  return !child(block, "type", &type);  // Converse blocks are keyed, not typed
}

Shape shape_of(dom::object body, std::string_view provider, std::string_view url) {
  dom::element e;
  if (child(body, "contents", &e) || child(body, "generationConfig", &e) ||
      child(body, "systemInstruction", &e)) {
    return Shape::gemini;
  }
  if (child(body, "inferenceConfig", &e) || child(body, "toolConfig", &e) ||
      first_content_block_is_bedrock(body)) {
    return Shape::bedrock;
  }
  if (child(body, "messages", &e)) {
    // Only Anthropic sends the system prompt beside the messages.
    if (provider == provider::kAnthropic || child(body, "anthropic_version", &e) ||
        child(body, "system", &e)) {
      return Shape::anthropic;
    }
    return Shape::openai_chat;
  }
  if (child(body, "input", &e)) {
    dom::array input;
    bool items =
        e.get_array().get(input) == SUCCESS && input.size() > 0 && (*input.begin()).is_object();
    if (items || url.find("/responses") != std::string_view::npos ||
        child(body, "instructions", &e) || child(body, "max_output_tokens", &e)) {
      return Shape::responses;
    }
    return Shape::embeddings;
  }
  if (child(body, "texts", &e)) return Shape::embeddings;  // Cohere embed
  if (child(body, "prompt", &e)) return Shape::ollama_generate;
  return Shape::unknown;
}

// --- URL --------------------------------------------------------------------------

struct Url {
  std::string host;
  std::optional<int64_t> port;
  std::string path;
};

Expected<Url> parse_url(std::string_view url) {
  Url u;
  int64_t default_port = 0;
  if (url.rfind("https://", 0) == 0) {
    url.remove_prefix(8);
    default_port = 443;
  } else if (url.rfind("http://", 0) == 0) {
    url.remove_prefix(7);
    default_port = 80;
  } else {
    return Error{Error::invalid_argument,
                 "request URL '" + std::string(url) + "' is not http:// or https://"};
  }
  size_t slash = url.find_first_of("/?#");
  std::string_view authority = url.substr(0, slash);
  u.path = slash == std::string_view::npos ? std::string() : std::string(url.substr(slash));
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    u.host = std::string(authority.substr(1, close == std::string_view::npos ? close : close - 1));
    if (close != std::string_view::npos && close + 1 < authority.size() &&
        authority[close + 1] == ':') {
      port = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  for (char& c : u.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  u.port = default_port;
  if (!port.empty()) {
    int64_t p = 0;
    bool ok = port.size() <= 5;
    for (char c : port) {
      ok = ok && c >= '0' && c <= '9';
      p = p * 10 + (c - '0');
    }
    if (ok && p > 0 && p <= 65535) u.port = p;
  }
  return u;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string provider_of_host(const Url& u) {
  const std::string& h = u.host;
  if (h == "api.openai.com") return std::string(provider::kOpenAi);
  if (ends_with(h, ".openai.azure.com")) return std::string(provider::kAzureOpenAi);
  if (h == "api.anthropic.com") return std::string(provider::kAnthropic);
  if (h == "generativelanguage.googleapis.com") return std::string(provider::kGemini);
  if (ends_with(h, "aiplatform.googleapis.com")) return std::string(provider::kVertexAi);
  if (h.rfind("bedrock-runtime", 0) == 0 && ends_with(h, ".amazonaws.com")) {
    return std::string(provider::kBedrock);
  }
  if (h == "api.mistral.ai") return std::string(provider::kMistral);
  if (h == "api.cohere.com" || h == "api.cohere.ai") return std::string(provider::kCohere);
  if (u.port == 11434) return std::string(provider::kOllama);
  return {};
}

// The model a URL names: Gemini ".../models/NAME:generateContent", Bedrock
// ".../model/ID/converse", Azure ".../deployments/NAME/...".
std::string model_of_path(std::string_view path, bool* streaming) {
  path = path.substr(0, path.find_first_of("?#"));
  auto segment_after = [&](std::string_view marker) -> std::string_view {
    size_t at = path.find(marker);
    if (at == std::string_view::npos) return {};
    std::string_view rest = path.substr(at + marker.size());
    return rest.substr(0, rest.find('/'));
  };
  if (std::string_view m = segment_after("/models/"); !m.empty()) {
    size_t colon = m.find(':');
    if (colon != std::string_view::npos) {
      *streaming = m.substr(colon + 1).rfind("stream", 0) == 0;
      return std::string(m.substr(0, colon));
    }
  }
  if (std::string_view m = segment_after("/model/"); !m.empty()) {
    *streaming = ends_with(path, "/converse-stream") || ends_with(path, "-with-response-stream");
    std::string decoded;
    if (percent_decode(m, decoded)) return decoded;
    return std::string(m);
  }
  if (std::string_view m = segment_after("/deployments/"); !m.empty()) return std::string(m);
  return {};
}

// --- Parameters ------------------------------------------------------------------

void read_params(dom::object o, RequestParams& p) {
  for (auto field : o) {
    std::string_view k = field.key;
    dom::element v = field.value;
    if (k == "temperature") {
      p.temperature = number_of(v);
    } else if (k == "top_p" || k == "topP" || k == "p") {
      p.top_p = number_of(v);
    } else if (k == "top_k" || k == "topK" || k == "k") {
      p.top_k = number_of(v);
    } else if (k == "max_tokens" || k == "max_completion_tokens" || k == "max_output_tokens" ||
               k == "maxOutputTokens" || k == "maxTokens" || k == "num_predict" ||
               k == "n_predict") {
      if (auto n = integer_of(v); n && *n >= 0) p.max_tokens = n;
    } else if (k == "seed" || k == "random_seed") {
      p.seed = integer_of(v);
    } else if (k == "frequency_penalty" || k == "frequencyPenalty") {
      p.frequency_penalty = number_of(v);
    } else if (k == "presence_penalty" || k == "presencePenalty") {
      p.presence_penalty = number_of(v);
    } else if (k == "n" || k == "candidateCount") {
      if (auto n = integer_of(v); n && *n != 1) p.choice_count = n;
    } else if (k == "stream") {
      bool b = false;
      if (v.get_bool().get(b) == SUCCESS) p.stream = b;
    } else if (k == "stop" || k == "stop_sequences" || k == "stopSequences") {
      p.stop_sequences.clear();
      dom::array list;
      if (v.is_string()) {
        p.stop_sequences.emplace_back(text_of(v));
      } else if (v.get_array().get(list) == SUCCESS) {
        for (dom::element s : list) {
          if (s.is_string()) p.stop_sequences.emplace_back(text_of(s));
        }
      }
    }
  }
}

}  // namespace

Expected<RequestParams> parse_request(std::string_view body, std::string_view provider_hint,
                                      std::string_view url) {
  try {
    RequestParams p;
    p.provider = std::string(provider_hint);
    bool url_streams = false;
    std::string url_model;
    if (!url.empty()) {
      Expected<Url> u = parse_url(url);
      if (!u) return u.error();
      p.server_address = u->host;
      p.server_port = u->port;
      if (p.provider.empty()) p.provider = provider_of_host(*u);
      url_model = model_of_path(u->path, &url_streams);
    }
    if (!body.empty()) {
      dom::parser parser;
      dom::object o;
      if (auto err = parser.parse(body.data(), body.size()).get_object().get(o)) {
        return parse_failure(err);
      }
      read_params(o, p);
      for (const char* nested : {"generationConfig", "inferenceConfig", "options"}) {
        dom::object config;
        if (object_at(o, nested, &config)) read_params(config, p);
      }
      p.model = std::string(text_at(o, "model"));
      Shape shape = shape_of(o, p.provider, url);
      dom::element e;
      if (p.provider.empty()) {
        if (shape == Shape::gemini) p.provider = std::string(provider::kGemini);
        if (shape == Shape::bedrock) p.provider = std::string(provider::kBedrock);
        if (child(o, "anthropic_version", &e)) p.provider = std::string(provider::kAnthropic);
        if (child(o, "n_predict", &e)) p.provider = std::string(provider::kLlamaCpp);
        if (child(o, "options", &e)) p.provider = std::string(provider::kOllama);
      }
      // Ollama streams unless told otherwise.
      if (!p.stream && p.provider == provider::kOllama) p.stream = true;
    }
    if (p.model.empty()) p.model = std::move(url_model);
    if (url_streams) p.stream = true;
    return p;
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

namespace usage_internal {

Expected<RequestContent> request_content(std::string_view body, std::string_view provider_hint) {
  try {
    dom::parser parser;
    dom::object o;
    if (auto err = parser.parse(body.data(), body.size()).get_object().get(o)) {
      return parse_failure(err);
    }
    RequestContent out;
    dom::array items;
    dom::element e;
    switch (shape_of(o, provider_hint, {})) {
      case Shape::anthropic:
        if (child(o, "system", &e)) add_openai_content(e, out.system);
        [[fallthrough]];
      case Shape::openai_chat:
        if (array_at(o, "messages", &items)) {
          for (dom::element m : items) {
            dom::object mo;
            if (m.get_object().get(mo) == SUCCESS) out.input.push_back(openai_message(mo));
          }
        }
        break;
      case Shape::responses:
        if (std::string_view instructions = text_at(o, "instructions"); !instructions.empty()) {
          out.system.push_back(text_part(instructions));
        }
        if (child(o, "input", &e)) {
          if (e.is_string()) {
            out.input.push_back(Message{"user", {text_part(text_of(e))}, {}});
          } else if (e.get_array().get(items) == SUCCESS) {
            add_responses_items(items, out.input);
          }
        }
        break;

      case Shape::gemini: {
        dom::object system;
        if (object_at(o, "systemInstruction", &system)) add_gemini_parts(system, out.system);
        if (array_at(o, "contents", &items)) {
          for (dom::element c : items) {
            dom::object co;
            if (c.get_object().get(co) != SUCCESS) continue;
            Message msg;
            msg.role = gemini_role(text_at(co, "role"));
            add_gemini_parts(co, msg.parts);
            out.input.push_back(std::move(msg));
          }
        }
        break;
      }
      case Shape::bedrock:
        if (array_at(o, "system", &items)) add_bedrock_blocks(items, out.system);
        if (array_at(o, "messages", &items)) {
          for (dom::element m : items) {
            dom::object mo;
            dom::array blocks;
            if (m.get_object().get(mo) != SUCCESS) continue;
            Message msg;
            msg.role = std::string(text_at(mo, "role"));
            if (array_at(mo, "content", &blocks)) add_bedrock_blocks(blocks, msg.parts);
            out.input.push_back(std::move(msg));
          }
        }
        break;
      case Shape::ollama_generate:
        if (std::string_view system = text_at(o, "system"); !system.empty()) {
          out.system.push_back(text_part(system));
        }
        if (child(o, "prompt", &e) && e.is_string()) {
          out.input.push_back(Message{"user", {text_part(text_of(e))}, {}});
        }
        break;
      case Shape::embeddings:
      case Shape::unknown:
        break;
    }
    if (out.input.empty() && out.system.empty()) {
      return Error{Error::not_found, "the request body has no messages"};
    }
    return out;
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

Expected<std::vector<Message>> response_content(std::string_view body,
                                                std::string_view provider_hint) {
  try {
    dom::parser parser;
    dom::object o;
    if (auto err = parser.parse(body.data(), body.size()).get_object().get(o)) {
      return parse_failure(err);
    }
    std::vector<Message> out;
    dom::array items;
    dom::object inner;
    dom::element e;
    if (object_at(o, "response", &inner) && child(inner, "output", &e)) o = inner;  // stream event
    if (array_at(o, "choices", &items)) {  // Chat Completions and compatible servers
      for (dom::element c : items) {
        dom::object co, mo;
        if (c.get_object().get(co) != SUCCESS) continue;
        Message msg = object_at(co, "message", &mo) ? openai_message(mo) : Message{};
        if (msg.role.empty()) msg.role = "assistant";
        if (std::string_view text = text_at(co, "text"); !text.empty()) {
          msg.parts.push_back(text_part(text));  // legacy completions
        }
        msg.finish_reason = std::string(text_at(co, "finish_reason"));
        out.push_back(std::move(msg));
      }
    } else if (array_at(o, "output", &items)) {  // Responses
      add_responses_items(items, out);
      std::string status(text_at(o, "status"));
      dom::object incomplete;
      if (object_at(o, "incomplete_details", &incomplete)) {
        status = std::string(text_at(incomplete, "reason"));
      }
      for (Message& m : out) m.finish_reason = status == "completed" ? "stop" : status;
    } else if (array_at(o, "candidates", &items)) {  // Gemini
      for (dom::element c : items) {
        dom::object co, content;
        if (c.get_object().get(co) != SUCCESS) continue;
        Message msg;
        msg.role = "assistant";
        if (object_at(co, "content", &content)) add_gemini_parts(content, msg.parts);
        msg.finish_reason = std::string(text_at(co, "finishReason"));
        out.push_back(std::move(msg));
      }
    } else if (object_at(o, "output", &inner)) {  // Bedrock Converse
      dom::object message;
      dom::array blocks;
      if (object_at(inner, "message", &message)) {
        Message msg;
        msg.role = std::string(text_at(message, "role"));
        if (array_at(message, "content", &blocks)) add_bedrock_blocks(blocks, msg.parts);
        msg.finish_reason = std::string(text_at(o, "stopReason"));
        out.push_back(std::move(msg));
      }
    } else if (text_at(o, "type") == "message" && child(o, "content", &e)) {  // Anthropic
      Message msg;
      msg.role = std::string(text_at(o, "role"));
      add_openai_content(e, msg.parts);
      msg.finish_reason = std::string(text_at(o, "stop_reason"));
      out.push_back(std::move(msg));
    } else if (object_at(o, "message", &inner)) {  // Cohere v2, Ollama /api/chat
      Message msg = openai_message(inner);
      std::string_view reason = text_at(o, "finish_reason");
      msg.finish_reason = std::string(reason.empty() ? text_at(o, "done_reason") : reason);
      out.push_back(std::move(msg));
    } else if (std::string_view text = text_at(o, "response"); !text.empty()) {  // /api/generate
      out.push_back(
          Message{"assistant", {text_part(text)}, std::string(text_at(o, "done_reason"))});
    } else if (child(o, "content", &e) && e.is_string()) {  // llama.cpp /completion
      out.push_back(Message{"assistant", {text_part(text_of(e))}, "stop"});
    }
    (void)provider_hint;
    if (out.empty()) return Error{Error::not_found, "the response body has no messages"};
    return out;
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

Expected<std::vector<Message>> schema_messages(std::string_view json) {
  try {
    dom::parser parser;
    dom::array items;
    if (parser.parse(json.data(), json.size()).get_array().get(items) != SUCCESS) {
      return Error{Error::not_found, "not a JSON array"};
    }
    std::vector<Message> out;
    for (dom::element item : items) {
      dom::object m;
      dom::array parts;
      if (item.get_object().get(m) != SUCCESS || text_at(m, "role").empty() ||
          !array_at(m, "parts", &parts)) {
        return Error{Error::not_found, "not in the message schema"};
      }
      Message msg;
      msg.role = std::string(text_at(m, "role"));
      msg.finish_reason = std::string(text_at(m, "finish_reason"));
      for (dom::element part : parts) {
        dom::object po;
        if (part.get_object().get(po) != SUCCESS) return Error{Error::not_found, "bad part"};
        Part p;
        p.type = std::string(text_at(po, "type"));
        if (p.type == "text" || p.type == "reasoning" || p.type == "blob") {
          p.content = std::string(text_at(po, "content"));
          p.mime_type = std::string(text_at(po, "mime_type"));
        } else if (p.type == "uri") {
          p.content = std::string(text_at(po, "uri"));
          p.mime_type = std::string(text_at(po, "mime_type"));
        } else if (p.type == "tool_call" || p.type == "tool_call_response") {
          p.id = std::string(text_at(po, "id"));
          p.name = std::string(text_at(po, "name"));
          dom::element v;
          if (child(po, p.type == "tool_call" ? "arguments" : "response", &v)) p.json = json_of(v);
        } else {
          // A part type of its own: kept whole, as sent.
          p.type.clear();
          p.json = json_of(part);
        }
        msg.parts.push_back(std::move(p));
      }
      out.push_back(std::move(msg));
    }
    return out;
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

bool valid_json(std::string_view text) {
  try {
    dom::parser parser;
    dom::element e;
    return parser.parse(text.data(), text.size()).get(e) == SUCCESS;
  } catch (...) {
    return false;
  }
}

}  // namespace usage_internal
}  // namespace convtrace
