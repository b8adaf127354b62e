// Walks a provider response with simdjson On-Demand: one forward pass over the
// fields, descending only into the few objects that carry usage, so bodies
// with large contents cost little more than their structural scan.
#include "usage/usage_parse.h"

#include "common/utf8.h"

#include <simdjson.h>

#include <cmath>
#include <memory>
#include <string>
#include <utility>

namespace convtrace::usage_internal {
namespace {

namespace od = simdjson::ondemand;

// Counts above this are not token counts but garbage or attacks; rejecting
// them also keeps every later sum far from int64 overflow.
constexpr int64_t kMaxCount = 1'000'000'000'000;

// Nesting depth of event wrappers we follow ("response", "message", "delta").
constexpr int kMaxDepth = 2;

struct Walker {
  od::document* doc = nullptr;
  const char* base = nullptr;
  size_t size = 0;

  Error json_error(simdjson::error_code code) {
    size_t offset = size;
    const char* at = nullptr;
    if (doc != nullptr && doc->current_location().get(at) == simdjson::SUCCESS && at >= base &&
        at <= base + size) {
      offset = static_cast<size_t>(at - base);
    }
    return Error{Error::parse_error, "malformed JSON at byte " + std::to_string(offset) + ": " +
                                         simdjson::error_message(code)};
  }

  static Error type_error(const std::string& path, std::string_view what) {
    return Error{Error::invalid_argument, path + ": " + std::string(what)};
  }

  // Reads a token count. JSON null means "not reported". In lenient mode (user
  // metadata that happens to reuse a key) a value of the wrong type is ignored.
  Error read_count(od::value value, const std::string& path, Count& out, bool lenient) {
    od::json_type type;
    if (auto e = value.type().get(type)) return json_error(e);
    if (type == od::json_type::null) {
      out.reset();
      return {};
    }
    if (type != od::json_type::number) {
      if (lenient) return {};
      return type_error(path, "expected an integer token count");
    }
    od::number_type ntype;
    if (auto e = value.get_number_type().get(ntype)) return json_error(e);
    int64_t n = 0;
    if (ntype == od::number_type::signed_integer) {
      if (auto e = value.get_int64().get(n)) return json_error(e);
    } else if (ntype == od::number_type::unsigned_integer) {
      if (lenient) return {};
      return type_error(path, "token count out of range");
    } else {
      double d = 0;
      if (auto e = value.get_double().get(d)) return json_error(e);
      // Some servers print integral counts as 12.0; accept those, nothing else.
      if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 1e15) {
        if (lenient) return {};
        return type_error(path, "expected an integer token count");
      }
      n = static_cast<int64_t>(d);
    }
    if (lenient && (n < 0 || n > kMaxCount)) return {};
    if (n < 0) return type_error(path, "negative token count " + std::to_string(n));
    if (n > kMaxCount) return type_error(path, "token count out of range " + std::to_string(n));
    out = n;
    return {};
  }

  // Reads a string if the value is one; other types are left alone, since a
  // model name or finish reason of an odd type should not cost the usage.
  Error read_string(od::value value, std::string& out) {
    od::json_type type;
    if (auto e = value.type().get(type)) return json_error(e);
    if (type != od::json_type::string) return {};
    std::string_view s;
    if (auto e = value.get_string().get(s)) return json_error(e);
    out.assign(s);
    return {};
  }

  Error add_finish_reason(od::value value, Facts& facts) {
    std::string reason;
    if (auto e = read_string(value, reason)) return e;
    if (!reason.empty()) facts.finish_reasons.push_back(std::move(reason));
    return {};
  }

  // Walks an object whose members are counts (`count_for` maps a key to the
  // count it fills, or nullptr) or sub-objects `on_object` may descend into.
  template <typename CountFor, typename OnObject>
  Error walk_counts(od::value value, const std::string& path, bool lenient, CountFor count_for,
                    OnObject on_object) {
    od::json_type type;
    if (auto e = value.type().get(type)) return json_error(e);
    if (type == od::json_type::null) return {};
    if (type != od::json_type::object) {
      if (lenient) return {};
      return type_error(path, "expected an object");
    }
    od::object obj;
    if (auto e = value.get_object().get(obj)) return json_error(e);
    for (auto member : obj) {
      od::field field;
      if (auto e = std::move(member).get(field)) return json_error(e);
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) return json_error(e);
      const std::string child = path + "." + std::string(key);
      if (Count* slot = count_for(key)) {
        if (auto e = read_count(field.value(), child, *slot, lenient)) return e;
        continue;
      }
      // Members on_object does not read are skipped by the iterator.
      if (auto e = on_object(key, field.value(), child)) return e;
    }
    return {};
  }

  Error walk_usage(od::value value, const std::string& path, Facts& facts, bool lenient) {
    RawCounts& c = facts.counts;
    auto count_for = [&](std::string_view key) -> Count* {
      if (key == "prompt_tokens") return &c.prompt_tokens;
      if (key == "completion_tokens") return &c.completion_tokens;
      if (key == "input_tokens") return &c.input_tokens;
      if (key == "output_tokens") return &c.output_tokens;
      if (key == "cache_read_input_tokens") {
        facts.anthropic = true;
        return &c.cache_read_input_tokens;
      }
      if (key == "cache_creation_input_tokens") {
        facts.anthropic = true;
        return &c.cache_creation_input_tokens;
      }
      if (key == "inputTokens") {
        facts.bedrock = true;
        return &c.bedrock_input_tokens;
      }
      if (key == "outputTokens") {
        facts.bedrock = true;
        return &c.bedrock_output_tokens;
      }
      if (key == "cacheReadInputTokens") return &c.bedrock_cache_read_tokens;
      if (key == "cacheWriteInputTokens") return &c.bedrock_cache_write_tokens;
      if (key == "cached_tokens") {  // Cohere v2 puts it at the top of usage
        facts.cohere = true;
        return &c.cohere_cached_tokens;
      }
      return nullptr;
    };
    auto on_object = [&](std::string_view key, od::value child_value,
                         const std::string& child) -> Error {
      if (key == "prompt_tokens_details") {
        return walk_counts(
            child_value, child, lenient,
            [&](std::string_view k) -> Count* {
              return k == "cached_tokens" ? &c.prompt_cached_tokens : nullptr;
            },
            ignore_objects);
      }
      if (key == "completion_tokens_details") {
        return walk_counts(
            child_value, child, lenient,
            [&](std::string_view k) -> Count* {
              return k == "reasoning_tokens" ? &c.completion_reasoning_tokens : nullptr;
            },
            ignore_objects);
      }
      if (key == "input_tokens_details") {
        facts.responses = true;
        return walk_counts(
            child_value, child, lenient,
            [&](std::string_view k) -> Count* {
              if (k == "cached_tokens") return &c.input_details_cached_tokens;
              if (k == "cache_write_tokens") return &c.input_details_cache_write_tokens;
              return nullptr;
            },
            ignore_objects);
      }
      if (key == "output_tokens_details") {
        facts.responses = true;
        return walk_counts(
            child_value, child, lenient,
            [&](std::string_view k) -> Count* {
              return k == "reasoning_tokens" ? &c.output_details_reasoning_tokens : nullptr;
            },
            ignore_objects);
      }
      if (key == "cache_creation") {
        facts.anthropic = true;
        return walk_counts(
            child_value, child, lenient,
            [&](std::string_view k) -> Count* {
              if (k == "ephemeral_5m_input_tokens") return &c.ephemeral_5m_input_tokens;
              if (k == "ephemeral_1h_input_tokens") return &c.ephemeral_1h_input_tokens;
              return nullptr;
            },
            ignore_objects);
      }
      if (key == "billed_units") {
        facts.cohere = true;
        return walk_billed(child_value, child, facts, lenient);
      }
      if (key == "tokens") {
        facts.cohere = true;
        return walk_cohere_tokens(child_value, child, facts, lenient);
      }
      return {};
    };
    return walk_counts(value, path, lenient, count_for, on_object);
  }

  // Cohere's `tokens`: the model's own token counts (billed units are separate).
  Error walk_cohere_tokens(od::value value, const std::string& path, Facts& facts, bool lenient) {
    RawCounts& c = facts.counts;
    return walk_counts(
        value, path, lenient,
        [&](std::string_view k) -> Count* {
          if (k == "input_tokens") return &c.cohere_input_tokens;
          if (k == "output_tokens") return &c.cohere_output_tokens;
          return nullptr;
        },
        ignore_objects);
  }

  Error walk_billed(od::value value, const std::string& path, Facts& facts, bool lenient) {
    RawCounts& c = facts.counts;
    return walk_counts(
        value, path, lenient,
        [&](std::string_view k) -> Count* {
          if (k == "input_tokens") return &c.billed_input_tokens;
          if (k == "output_tokens") return &c.billed_output_tokens;
          return nullptr;
        },
        ignore_objects);
  }

  // Cohere's `meta`: billed units for embeddings (and v1 chat).
  Error walk_meta(od::value value, const std::string& path, Facts& facts) {
    return walk_counts(
        value, path, /*lenient=*/true, [](std::string_view) -> Count* { return nullptr; },
        [&](std::string_view key, od::value child_value, const std::string& child) -> Error {
          if (key == "billed_units") {
            facts.cohere = true;
            return walk_billed(child_value, child, facts, false);
          }
          if (key == "tokens") {
            facts.cohere = true;
            return walk_cohere_tokens(child_value, child, facts, false);
          }
          return {};
        });
  }

  static Error ignore_objects(std::string_view, od::value, const std::string&) { return {}; }

  Error walk_gemini_usage(od::value value, const std::string& path, Facts& facts) {
    RawCounts& c = facts.counts;
    facts.gemini = true;
    return walk_counts(
        value, path, false,
        [&](std::string_view k) -> Count* {
          if (k == "promptTokenCount") return &c.prompt_token_count;
          if (k == "candidatesTokenCount") return &c.candidates_token_count;
          if (k == "cachedContentTokenCount") return &c.cached_content_token_count;
          if (k == "thoughtsTokenCount") return &c.thoughts_token_count;
          return nullptr;
        },
        ignore_objects);
  }

  Error walk_timings(od::value value, const std::string& path, Facts& facts) {
    RawCounts& c = facts.counts;
    facts.llamacpp_timings = true;
    return walk_counts(
        value, path, /*lenient=*/true,
        [&](std::string_view k) -> Count* {
          if (k == "prompt_n") return &c.timings_prompt_n;
          if (k == "predicted_n") return &c.timings_predicted_n;
          if (k == "cache_n") return &c.timings_cache_n;
          return nullptr;
        },
        ignore_objects);
  }

  // Arrays of choices/candidates: only their finish reasons matter here.
  Error walk_choices(od::value value, std::string_view reason_key, Facts& facts) {
    od::json_type type;
    if (auto e = value.type().get(type)) return json_error(e);
    if (type != od::json_type::array) return {};
    od::array arr;
    if (auto e = value.get_array().get(arr)) return json_error(e);
    for (auto element : arr) {
      od::value item;
      if (auto e = std::move(element).get(item)) return json_error(e);
      od::json_type item_type;
      if (auto e = item.type().get(item_type)) return json_error(e);
      if (item_type != od::json_type::object) continue;
      od::object obj;
      if (auto e = item.get_object().get(obj)) return json_error(e);
      for (auto member : obj) {
        od::field field;
        if (auto e = std::move(member).get(field)) return json_error(e);
        std::string_view key;
        if (auto e = field.unescaped_key().get(key)) return json_error(e);
        if (key == reason_key) {
          if (auto e = add_finish_reason(field.value(), facts)) return e;
        }
      }
    }
    return {};
  }

  static void mark_type(std::string_view type, Facts& facts) {
    if (type == "message" || type == "message_start" || type == "message_delta" ||
        type == "message_stop" || type.substr(0, 14) == "content_block_") {
      facts.anthropic = true;
    } else if (type.substr(0, 9) == "response.") {
      facts.responses = true;
    } else if (type == "message-start" || type == "message-end" || type == "content-delta" ||
               type == "content-start" || type == "content-end") {
      facts.cohere = true;
    }
  }

  static void mark_object(std::string_view object, Facts& facts) {
    if (object == "response") {
      facts.responses = true;
    } else if (object == "chat.completion" || object == "chat.completion.chunk" ||
               object == "text_completion" || object == "list") {
      facts.openai_chat = true;
    }
  }

  Error walk_object(od::object obj, Facts& facts, int depth, bool lenient,
                    const std::string& prefix) {
    for (auto member : obj) {
      od::field field;
      if (auto e = std::move(member).get(field)) return json_error(e);
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) return json_error(e);
      od::value value = field.value();
      const std::string path = prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
      Error err;
      if (key == "usage") {
        err = walk_usage(value, path, facts, lenient || depth > 0);
      } else if (key == "usageMetadata") {
        err = walk_gemini_usage(value, path, facts);
      } else if (key == "model" || key == "modelVersion") {
        if (key == "modelVersion") facts.gemini = true;
        err = read_string(value, facts.model);
      } else if (key == "id" || key == "responseId") {
        err = read_string(value, facts.response_id);
      } else if (key == "choices") {
        err = walk_choices(value, "finish_reason", facts);
      } else if (key == "candidates") {
        facts.gemini = true;
        err = walk_choices(value, "finishReason", facts);
      } else if (key == "stop_reason" || key == "finish_reason") {
        err = add_finish_reason(value, facts);
      } else if (key == "stopReason") {
        facts.bedrock = true;
        err = add_finish_reason(value, facts);
      } else if (key == "done_reason") {
        facts.ollama = true;
        err = add_finish_reason(value, facts);
      } else if (key == "done") {
        facts.ollama = true;
      } else if (key == "prompt_eval_count") {
        facts.ollama = true;
        err = read_count(value, path, facts.counts.prompt_eval_count, lenient);
      } else if (key == "eval_count") {
        facts.ollama = true;
        err = read_count(value, path, facts.counts.eval_count, lenient);
      } else if (key == "tokens_evaluated") {
        facts.llamacpp_native = true;
        err = read_count(value, path, facts.counts.tokens_evaluated, lenient);
      } else if (key == "tokens_predicted") {
        facts.llamacpp_native = true;
        err = read_count(value, path, facts.counts.tokens_predicted, lenient);
      } else if (key == "timings") {
        err = walk_timings(value, path, facts);
      } else if (key == "stop_type") {
        std::string stop_type;
        err = read_string(value, stop_type);
        if (!err && !stop_type.empty() && stop_type != "none") {
          facts.finish_reasons.push_back(std::move(stop_type));
        }
      } else if (key == "meta") {
        err = walk_meta(value, path, facts);
      } else if (key == "prompt_filter_results") {
        facts.azure = true;
      } else if (key == "type" || key == "object") {
        std::string text;
        err = read_string(value, text);
        if (key == "type") {
          mark_type(text, facts);
        } else {
          mark_object(text, facts);
        }
      } else if (key == "messageStart" || key == "contentBlockDelta" || key == "messageStop") {
        facts.bedrock = true;
        if (key == "messageStop") err = descend(value, facts, depth, lenient, path);
      } else if (key == "metadata") {
        // Bedrock ConverseStream's final event; elsewhere (OpenAI Responses)
        // `metadata` is the caller's own map, so read it leniently.
        err = descend(value, facts, depth, /*lenient=*/true, path);
      } else if (key == "response" || key == "message" || key == "delta") {
        err = descend(value, facts, depth, lenient, path);
      }
      if (err) return err;
    }
    return {};
  }

  Error descend(od::value value, Facts& facts, int depth, bool lenient, const std::string& path) {
    if (depth >= kMaxDepth) return {};
    od::json_type type;
    if (auto e = value.type().get(type)) return json_error(e);
    if (type != od::json_type::object) return {};
    od::object obj;
    if (auto e = value.get_object().get(obj)) return json_error(e);
    return walk_object(obj, facts, depth + 1, lenient, path);
  }
};

}  // namespace

// Every count, for merging and emptiness checks.
constexpr Count RawCounts::*kAllCounts[] = {
    &RawCounts::prompt_tokens,
    &RawCounts::completion_tokens,
    &RawCounts::prompt_cached_tokens,
    &RawCounts::completion_reasoning_tokens,
    &RawCounts::input_tokens,
    &RawCounts::output_tokens,
    &RawCounts::input_details_cached_tokens,
    &RawCounts::input_details_cache_write_tokens,
    &RawCounts::output_details_reasoning_tokens,
    &RawCounts::cache_read_input_tokens,
    &RawCounts::cache_creation_input_tokens,
    &RawCounts::ephemeral_5m_input_tokens,
    &RawCounts::ephemeral_1h_input_tokens,
    &RawCounts::bedrock_input_tokens,
    &RawCounts::bedrock_output_tokens,
    &RawCounts::bedrock_cache_read_tokens,
    &RawCounts::bedrock_cache_write_tokens,
    &RawCounts::billed_input_tokens,
    &RawCounts::billed_output_tokens,
    &RawCounts::cohere_input_tokens,
    &RawCounts::cohere_output_tokens,
    &RawCounts::cohere_cached_tokens,
    &RawCounts::prompt_token_count,
    &RawCounts::candidates_token_count,
    &RawCounts::cached_content_token_count,
    &RawCounts::thoughts_token_count,
    &RawCounts::prompt_eval_count,
    &RawCounts::eval_count,
    &RawCounts::tokens_evaluated,
    &RawCounts::tokens_predicted,
    &RawCounts::timings_prompt_n,
    &RawCounts::timings_predicted_n,
    &RawCounts::timings_cache_n,
};

void RawCounts::merge_from(const RawCounts& later) {
  for (auto member : kAllCounts) {
    if (later.*member) this->*member = later.*member;
  }
}

bool RawCounts::any() const {
  for (auto member : kAllCounts) {
    if (this->*member) return true;
  }
  return false;
}

Shape Facts::shape() const {
  // Most specific markers first: several shapes share key names (input_tokens).
  if (gemini) return Shape::gemini;
  if (bedrock) return Shape::bedrock;
  if (cohere) return Shape::cohere;
  if (ollama) return Shape::ollama;
  if (llamacpp_native) return Shape::llamacpp_native;
  if (anthropic) return Shape::anthropic;
  if (responses) return Shape::openai_responses;
  if (openai_chat || counts.prompt_tokens || counts.completion_tokens) return Shape::openai_chat;
  // Bare input/output counts: the Responses rule, which for a body without
  // cache fields gives the same numbers as Anthropic's.
  if (counts.input_tokens || counts.output_tokens) return Shape::openai_responses;
  return Shape::unknown;
}

namespace {

// Bodies up to this size are parsed with a per-thread parser and input
// buffer: a fresh parser allocates its index buffers on every call, which was
// a fifth of the cost of reading a 2 KB body. Larger bodies (rare) get their
// own, so a thread never keeps a big buffer alive.
constexpr size_t kReusedParserMaxBytes = 64 * 1024;

struct ParseBuffers {
  od::parser parser;
  std::string input;  // the body followed by simdjson's padding
  bool in_use = false;
};

}  // namespace

Error parse_facts(std::string_view json, Facts& facts) {
  thread_local ParseBuffers reused;
  std::unique_ptr<ParseBuffers> own;
  ParseBuffers* buffers = &reused;
  if (reused.in_use || json.size() > kReusedParserMaxBytes) {
    own = std::make_unique<ParseBuffers>();
    buffers = own.get();
  }
  buffers->in_use = true;
  struct Release {
    ParseBuffers* b;
    ~Release() { b->in_use = false; }
  } release{buffers};
  std::string& input = buffers->input;
  input.assign(json.data(), json.size());
  input.append(simdjson::SIMDJSON_PADDING, '\0');
  od::parser& parser = buffers->parser;
  Walker walker;
  walker.base = input.data();
  walker.size = json.size();
  od::document doc;
  auto iterated = parser.iterate(input.data(), walker.size, input.size()).get(doc);
  if (iterated == simdjson::UTF8_ERROR) {
    // JSON must be UTF-8, but a provider may cut a completion inside a
    // character: the body is read with its ill-formed sequences replaced
    // (common/utf8.h), so its usage is not lost and the strings taken from
    // it are valid.
    input.clear();
    const size_t replaced = utf8::append_repaired(json, input);
    walker.size = input.size();
    input.append(simdjson::SIMDJSON_PADDING, '\0');
    walker.base = input.data();
    utf8::warn("provider response", replaced);
    iterated = parser.iterate(input.data(), walker.size, input.size()).get(doc);
  }
  if (auto e = iterated) {
    // Stage-1 failures (unclosed string, bad UTF-8) have no position in the
    // document yet; the end of input is where the damage shows.
    return walker.json_error(e);
  }
  walker.doc = &doc;
  od::json_type type;
  if (auto e = doc.type().get(type)) return walker.json_error(e);
  if (type != od::json_type::object) {
    return Error{Error::invalid_argument, "expected a JSON object at the top level"};
  }
  od::object obj;
  if (auto e = doc.get_object().get(obj)) return walker.json_error(e);
  if (auto err = walker.walk_object(obj, facts, 0, false, "")) return err;
  // A complete walk leaves the iterator at the end; anything else is trailing
  // content (two documents, or garbage after the object).
  const char* at = nullptr;
  if (doc.current_location().get(at) == simdjson::SUCCESS) {
    return Error{Error::parse_error, "malformed JSON at byte " +
                                         std::to_string(static_cast<size_t>(at - walker.base)) +
                                         ": trailing content after the object"};
  }
  return {};
}

}  // namespace convtrace::usage_internal
