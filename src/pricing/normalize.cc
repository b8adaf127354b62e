// Model id normalization for catalog look-up.
//
// Providers and gateways decorate one model many ways: "openai/gpt-4o",
// "projects/p/locations/l/publishers/google/models/gemini-2.5-pro",
// "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-3-5-sonnet@20240620".
// Each rule below removes one kind of decoration and nothing else, so an id
// that is already plain passes through unchanged.
#include <array>
#include <cctype>
#include <string>

#include "convtrace/pricing.h"
#include "pricing/normalize.h"

namespace convtrace {
namespace pricing_internal {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

constexpr std::array<std::string_view, 26> kPathPrefixes = {
    "openai/",       "azure/",
    "azure_ai/",     "anthropic/",
    "gemini/",       "google/",
    "vertex_ai/",    "vertex_ai_beta/",
    "bedrock/",      "bedrock_converse/",
    "aws/",          "mistral/",
    "mistralai/",    "cohere/",
    "cohere_chat/",  "ollama/",
    "ollama_chat/",  "openrouter/",
    "xai/",          "deepseek/",
    "groq/",         "together_ai/",
    "fireworks_ai/", "litellm/",
    "models/",       "publishers/google/models/"};

constexpr std::array<std::string_view, 8> kBedrockRegions = {"us.", "eu.", "apac.",   "au.",
                                                             "jp.", "ca.", "global.", "us-gov."};

constexpr std::array<std::string_view, 12> kBedrockVendors = {
    "anthropic.", "amazon.", "meta.", "mistral.", "cohere.", "ai21.",
    "deepseek.",  "openai.", "qwen.", "writer.",  "zai.",    "twelvelabs."};

// "-v1:0", "-v2", ":0" at the end of a Bedrock id.
void strip_bedrock_version(std::string& s) {
  const size_t colon = s.rfind(':');
  if (colon != std::string::npos && all_digits(std::string_view(s).substr(colon + 1))) {
    s.erase(colon);
  }
  const size_t dash_v = s.rfind("-v");
  if (dash_v != std::string::npos && all_digits(std::string_view(s).substr(dash_v + 2))) {
    s.erase(dash_v);
  }
}

void strip_bedrock(std::string& s) {
  std::string_view view = s;
  size_t cut = 0;
  for (std::string_view region : kBedrockRegions) {
    if (starts_with(view, region)) {
      cut = region.size();
      break;
    }
  }
  for (std::string_view vendor : kBedrockVendors) {
    if (starts_with(view.substr(cut), vendor)) {
      s.erase(0, cut + vendor.size());
      strip_bedrock_version(s);
      return;
    }
  }
  // A region without a vendor is not a Bedrock id ("us.foo" stays as it is).
}

// One dated or versioned snapshot suffix; true when something was removed.
bool strip_snapshot_suffix(std::string& s) {
  const std::string_view view = s;
  // Vertex: "claude-3-5-sonnet@20240620", "gemini-1.5-pro@002".
  const size_t at = view.rfind('@');
  if (at != std::string_view::npos && at > 0 && all_digits(view.substr(at + 1))) {
    s.erase(at);
    return true;
  }
  // OpenAI: "-2024-08-06".
  if (view.size() > 11) {
    const std::string_view tail = view.substr(view.size() - 11);
    if (tail[0] == '-' && all_digits(tail.substr(1, 4)) && tail[5] == '-' &&
        all_digits(tail.substr(6, 2)) && tail[8] == '-' && all_digits(tail.substr(9, 2))) {
      s.erase(s.size() - 11);
      return true;
    }
  }
  // Anthropic: "-20241022".
  if (view.size() > 9) {
    const std::string_view tail = view.substr(view.size() - 9);
    if (tail[0] == '-' && starts_with(tail.substr(1), "20") && all_digits(tail.substr(1))) {
      s.erase(s.size() - 9);
      return true;
    }
  }
  // Gemini stable versions: "-001", "-002" (only Gemini: "text-embedding-004"
  // is a model of its own, not a version of "text-embedding").
  if (view.size() > 4 && starts_with(view, "gemini")) {
    const std::string_view tail = view.substr(view.size() - 4);
    if (tail[0] == '-' && starts_with(tail.substr(1), "00") && all_digits(tail.substr(1))) {
      s.erase(s.size() - 4);
      return true;
    }
  }
  return false;
}

}  // namespace

std::string strip_prefixes(std::string_view model) {
  while (!model.empty() && std::isspace(static_cast<unsigned char>(model.front()))) {
    model.remove_prefix(1);
  }
  while (!model.empty() && std::isspace(static_cast<unsigned char>(model.back()))) {
    model.remove_suffix(1);
  }
  std::string s(model);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Vertex resource names: everything up to the last "/models/" is location.
  const size_t models = s.rfind("/models/");
  if (models != std::string::npos) s.erase(0, models + 8);
  for (bool again = true; again;) {
    again = false;
    for (std::string_view prefix : kPathPrefixes) {
      if (starts_with(s, prefix) && s.size() > prefix.size()) {
        s.erase(0, prefix.size());
        again = true;
      }
    }
  }
  return s;
}

}  // namespace pricing_internal

std::string normalize_model(std::string_view model) {
  std::string s = pricing_internal::strip_prefixes(model);
  pricing_internal::strip_bedrock(s);
  // At most two suffixes in practice ("…-20250929" after "-v1:0" went above);
  // the bound keeps hostile input from looping long.
  for (int i = 0; i < 4 && pricing_internal::strip_snapshot_suffix(s); ++i) {
  }
  return s;
}

}  // namespace convtrace
