// `convtrace usage FILE|-`: the normalized usage and exact cost of one saved
// response body or stream.
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include "commands.h"
#include "convtrace/usage.h"

namespace convtrace::cli {
namespace {

constexpr std::string_view kCommand = "usage";

struct UsageOptions {
  std::string file;
  std::string provider;
  std::string model;
  std::string pricing;
  bool json = false;
  bool stream = false;
};

std::string read_input(const std::string& file) {
  std::ostringstream buffer;
  if (file == "-") {
    buffer << std::cin.rdbuf();
    if (std::cin.bad()) fail(kCommand, "cannot read standard input", kExitBadInput);
    return buffer.str();
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(kCommand, "cannot open " + file, kExitBadInput);
  buffer << in.rdbuf();
  if (in.bad()) fail(kCommand, "cannot read " + file, kExitBadInput);
  return buffer.str();
}

// SSE is recognized by its field names at the start of a line.
bool looks_like_sse(std::string_view text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    if (line.substr(0, 5) == "data:" || line.substr(0, 6) == "event:") return true;
    start = end + 1;
  }
  return false;
}

// JSON lines: more than one line that starts a JSON object.
bool looks_like_json_lines(std::string_view text) {
  int objects = 0;
  size_t start = 0;
  while (start < text.size() && objects < 2) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (start < end && text[start] == '{') ++objects;
    start = end + 1;
  }
  return objects >= 2;
}

std::string count_json(const std::optional<int64_t>& n) { return n ? std::to_string(*n) : "null"; }

std::string count_text(const std::optional<int64_t>& n) { return n ? std::to_string(*n) : "-"; }

void run(const UsageOptions& opt) {
  const std::string body = read_input(opt.file);
  const std::string name = opt.file == "-" ? "<stdin>" : opt.file;

  Expected<Usage> usage = Error{Error::internal, "not parsed"};
  bool as_stream = opt.stream || looks_like_sse(body);
  if (!as_stream) {
    usage = extract_usage(body, opt.provider);
    // Several JSON objects one per line do not parse as one document.
    if (!usage && usage.error().code == Error::parse_error && looks_like_json_lines(body)) {
      as_stream = true;
    }
  }
  if (as_stream) {
    StreamAccumulator acc(opt.provider);
    acc.feed(body);
    usage = acc.finish();
    if (acc.bad_chunks() > 0) {
      std::cerr << "convtrace usage: warning: " << name << ": " << acc.bad_chunks()
                << " chunk(s) could not be parsed and were skipped\n";
    }
  }
  if (!usage) fail(kCommand, name + ": " + usage.error().message, kExitBadInput);

  const Pricing pricing = load_pricing(kCommand, opt.pricing);
  const std::string model = opt.model.empty() ? usage->model : opt.model;
  const ModelPrice* price = model.empty() ? nullptr : pricing.find(model);
  std::optional<int64_t> cost;
  if (price != nullptr) {
    auto computed = compute_cost(*usage, *price);
    if (!computed) fail(kCommand, name + ": " + computed.error().message, kExitBadInput);
    cost = computed->total_pico;
  }

  if (opt.json) {
    std::cout << "{\"provider\":" << json_string(usage->provider)
              << ",\"model\":" << (model.empty() ? "null" : json_string(model))
              << ",\"priced_as\":" << (price ? json_string(price->model) : "null")
              << ",\"input_tokens\":" << count_json(usage->input_tokens)
              << ",\"output_tokens\":" << count_json(usage->output_tokens)
              << ",\"cache_read_input_tokens\":" << count_json(usage->cache_read_tokens)
              << ",\"cache_write_input_tokens\":" << count_json(usage->cache_write_tokens)
              << ",\"reasoning_output_tokens\":" << count_json(usage->reasoning_tokens)
              << ",\"cost_pico_usd\":" << count_json(cost)
              << ",\"cost_usd\":" << (cost ? pico_to_usd_string(*cost) : "null") << "}\n";
  } else {
    auto row = [](std::string_view label, const std::string& value) {
      std::cout << std::left << std::setw(18) << label << value << '\n';
    };
    row("provider", usage->provider.empty() ? "-" : usage->provider);
    row("model", model.empty() ? "-" : model);
    row("priced as", price ? price->model : "-");
    row("input tokens", count_text(usage->input_tokens));
    row("  cache read", count_text(usage->cache_read_tokens));
    row("  cache write", count_text(usage->cache_write_tokens));
    row("output tokens", count_text(usage->output_tokens));
    row("  reasoning", count_text(usage->reasoning_tokens));
    if (usage->billed_input_tokens || usage->billed_output_tokens) {
      row("billed input", count_text(usage->billed_input_tokens));
      row("billed output", count_text(usage->billed_output_tokens));
    }
    row("cost (USD)", cost ? pico_to_usd_string(*cost) : "unknown");
  }
  if (price == nullptr) {
    std::string note = model.empty() ? "the response names no model (use --model)"
                                     : "no price for model \"" + model + "\"";
    const auto near = model.empty() ? std::vector<std::string>{} : pricing.closest(model);
    for (size_t i = 0; i < near.size(); ++i) note += (i == 0 ? "; closest: " : ", ") + near[i];
    std::cerr << "convtrace usage: warning: " << note << '\n';
  }
}

}  // namespace

void register_usage(CLI::App& app) {
  auto opt = std::make_shared<UsageOptions>();
  CLI::App* sub = app.add_subcommand(
      "usage",
      "Print the normalized token usage and exact cost of one saved LLM response.\n\n"
      "Reads a provider response body (OpenAI, Azure OpenAI, Anthropic, Gemini, Bedrock, "
      "Mistral, Cohere, Ollama, llama.cpp) or a saved stream (SSE or JSON lines, detected from "
      "the content), normalizes its counts (input includes cache reads and writes, output "
      "includes reasoning) and prices them with the built-in catalog.");
  sub->add_option("file", opt->file, "Response body or stream; '-' reads standard input")
      ->required();
  sub->add_option("--provider", opt->provider,
                  "Provider name (openai, azure.ai.openai, anthropic, gcp.gemini, aws.bedrock, "
                  "mistral_ai, cohere, ollama, llama.cpp); default: detected from the body");
  sub->add_option("--model", opt->model,
                  "Price as this model (for bodies that name none, e.g. Bedrock Converse)");
  sub->add_flag("--json", opt->json,
                "Print one JSON object: provider, model, priced_as, input_tokens, output_tokens, "
                "cache_read_input_tokens, cache_write_input_tokens, reasoning_output_tokens, "
                "cost_pico_usd, cost_usd (null when not reported or not priced)");
  sub->add_flag("--stream", opt->stream,
                "Parse the input as a stream even if it looks like one body");
  add_pricing_option(*sub, opt->pricing);
  sub->footer(
      "EXAMPLES\n"
      "  convtrace usage response.json\n"
      "  convtrace usage --json chat_stream.sse\n"
      "  curl -s ... | convtrace usage --provider mistral_ai -\n"
      "  convtrace usage --model anthropic.claude-haiku-4-5-20251001-v1:0 converse.json\n\n"
      "EXIT STATUS\n"
      "  0  usage printed (an unknown model prints cost 'unknown' and a warning)\n"
      "  2  unreadable input, malformed JSON (with the byte position), invalid counts,\n"
      "     or a response that reports no usage");
  sub->callback([opt] { run(*opt); });
}

}  // namespace convtrace::cli
