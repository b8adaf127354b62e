// `convtrace conversation ID`: one conversation turn by turn.
#include <iostream>

#include "store_common.h"
#include "usage/messages.h"

namespace convtrace::cli {
namespace {

constexpr std::string_view kCommand = "conversation";

struct ConversationOptions {
  std::string id;
  std::string db;
  OutputOptions out;
};

std::string opt_int(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "null"; }

// For the table: the text of captured messages in the GenAI message schema
// (the last message's, as the turn's newest input or the reply), tool calls
// as name(arguments); anything else as stored.
std::string readable(const std::string& captured) {
  auto messages = usage_internal::schema_messages(captured);
  if (!messages || messages->empty()) return captured;
  std::string out;
  for (const usage_internal::Part& p : messages->back().parts) {
    if (!out.empty()) out += ' ';
    if (p.type == "tool_call") {
      out += p.name + "(" + p.json + ")";
    } else if (p.type == "tool_call_response") {
      out += "-> " + p.json;
    } else if (p.type == "reasoning") {
      out += "[thinking] " + p.content;
    } else if (!p.content.empty()) {
      out += p.content;
    }
  }
  return out.empty() ? captured : out;
}

std::string span_json(const SpanView& s) {
  std::string o =
      "{\"trace_id\":" + json_string(s.trace_id) + ",\"span_id\":" + json_string(s.span_id) +
      ",\"parent_span_id\":" + json_string(s.parent_span_id) +
      ",\"depth\":" + std::to_string(s.depth) + ",\"name\":" + json_string(s.name) +
      ",\"kind\":" + json_string(s.kind) + ",\"model\":" + json_string(s.model) +
      ",\"provider\":" + json_string(s.provider) +
      ",\"start_unix_nano\":" + std::to_string(s.start_unix_nano) +
      ",\"end_unix_nano\":" + std::to_string(s.end_unix_nano) +
      ",\"input_tokens\":" + opt_int(s.input_tokens) +
      ",\"output_tokens\":" + opt_int(s.output_tokens) +
      ",\"cache_read_tokens\":" + opt_int(s.cache_read_tokens) +
      ",\"cache_write_tokens\":" + opt_int(s.cache_write_tokens) +
      ",\"reasoning_tokens\":" + opt_int(s.reasoning_tokens) +
      ",\"cost_pico_usd\":" + opt_int(s.cost_pico_usd) +
      ",\"cost_usd\":" + (s.cost_pico_usd ? usd_json(*s.cost_pico_usd) : std::string("null")) +
      ",\"status\":" +
      json_string(s.status == StatusCode::error ? "error"
                  : s.status == StatusCode::ok  ? "ok"
                                                : "unset") +
      ",\"error\":" + (s.error.empty() ? std::string("null") : json_string(s.error)) +
      ",\"input_messages\":" +
      (s.input_messages ? json_string(*s.input_messages) : std::string("null")) +
      ",\"output_messages\":" +
      (s.output_messages ? json_string(*s.output_messages) : std::string("null")) + "}";
  return o;
}

void print_json(const ConversationView& v) {
  std::cout << "{\"conversation_id\":" << json_string(v.conversation_id) << ",\"user_ids\":[";
  for (size_t i = 0; i < v.user_ids.size(); ++i)
    std::cout << (i ? "," : "") << json_string(v.user_ids[i]);
  std::cout << "],\"cost_pico_usd\":" << v.cost_pico_usd
            << ",\"cost_usd\":" << usd_json(v.cost_pico_usd)
            << ",\"input_tokens\":" << v.input_tokens << ",\"output_tokens\":" << v.output_tokens
            << ",\"llm_calls\":" << v.llm_calls << ",\"errors\":" << v.errors << ",\"turns\":[";
  for (size_t t = 0; t < v.turns.size(); ++t) {
    const TurnView& turn = v.turns[t];
    std::cout << (t ? "," : "") << "{\"turn\":" << turn.turn << ",\"trace_ids\":[";
    for (size_t i = 0; i < turn.trace_ids.size(); ++i) {
      std::cout << (i ? "," : "") << json_string(turn.trace_ids[i]);
    }
    std::cout << "],\"start_unix_nano\":" << turn.start_unix_nano
              << ",\"end_unix_nano\":" << turn.end_unix_nano
              << ",\"cost_pico_usd\":" << turn.cost_pico_usd
              << ",\"cost_usd\":" << usd_json(turn.cost_pico_usd)
              << ",\"running_total_pico_usd\":" << turn.running_total_pico_usd
              << ",\"input_tokens\":" << turn.input_tokens
              << ",\"output_tokens\":" << turn.output_tokens << ",\"llm_calls\":" << turn.llm_calls
              << ",\"errors\":" << turn.errors << ",\"spans\":[";
    for (size_t i = 0; i < turn.spans.size(); ++i)
      std::cout << (i ? "," : "") << span_json(turn.spans[i]);
    std::cout << "]}";
  }
  std::cout << "]}\n";
}

std::string shorten(std::string text, size_t max) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (text.size() > max) text = text.substr(0, max - 3) + "...";
  return text;
}

void print_table(const ConversationView& v) {
  std::cout << "conversation " << v.conversation_id;
  if (!v.user_ids.empty()) {
    std::cout << "  user ";
    for (size_t i = 0; i < v.user_ids.size(); ++i) std::cout << (i ? "," : "") << v.user_ids[i];
  }
  std::cout << "  " << v.turns.size() << " turn(s)  " << usd(v.cost_pico_usd) << "  "
            << v.input_tokens << " in / " << v.output_tokens << " out tokens";
  if (v.errors) std::cout << "  " << v.errors << " error(s)";
  std::cout << "\n";
  for (const TurnView& t : v.turns) {
    std::cout << "\nturn " << t.turn << "  " << format_time(t.start_unix_nano) << " UTC  "
              << usd(t.cost_pico_usd) << "  (running " << usd(t.running_total_pico_usd) << ")";
    if (t.errors) std::cout << "  FAILED";
    std::cout << '\n';
    for (const SpanView& s : t.spans) {
      std::string indent(2 + 2 * static_cast<size_t>(s.depth), ' ');
      std::cout << indent << s.name;
      if (!s.kind.empty()) std::cout << "  [" << s.kind << "]";
      if (!s.model.empty()) std::cout << "  " << s.model;
      if (s.input_tokens || s.output_tokens) {
        std::cout << "  " << s.input_tokens.value_or(0) << " in / " << s.output_tokens.value_or(0)
                  << " out";
        if (s.cache_read_tokens.value_or(0))
          std::cout << " (" << *s.cache_read_tokens << " cached)";
        if (s.reasoning_tokens.value_or(0))
          std::cout << " (" << *s.reasoning_tokens << " reasoning)";
      }
      if (s.cost_pico_usd) std::cout << "  " << usd(*s.cost_pico_usd);
      std::cout << "  " << (s.end_unix_nano - s.start_unix_nano) / 1000000 << " ms";
      if (!s.error.empty()) std::cout << "  ERROR " << s.error;
      std::cout << '\n';
      if (s.input_messages)
        std::cout << indent << "  > " << shorten(readable(*s.input_messages), 100) << '\n';
      if (s.output_messages)
        std::cout << indent << "  < " << shorten(readable(*s.output_messages), 100) << '\n';
    }
  }
}

void print_csv(const ConversationView& v) {
  std::cout << "turn,trace_id,span_id,parent_span_id,depth,name,kind,model,input_tokens,"
               "output_tokens,cost_pico_usd,running_total_pico_usd,error\n";
  for (const TurnView& t : v.turns) {
    for (const SpanView& s : t.spans) {
      std::cout << t.turn << ',' << s.trace_id << ',' << s.span_id << ',' << s.parent_span_id << ','
                << s.depth << ',' << csv_field(s.name) << ',' << csv_field(s.kind) << ','
                << csv_field(s.model) << ','
                << (s.input_tokens ? std::to_string(*s.input_tokens) : "") << ','
                << (s.output_tokens ? std::to_string(*s.output_tokens) : "") << ','
                << (s.cost_pico_usd ? std::to_string(*s.cost_pico_usd) : "") << ','
                << t.running_total_pico_usd << ',' << csv_field(s.error) << '\n';
    }
  }
}

void run(const ConversationOptions& opt) {
  auto store = open_store_for_reading(kCommand, opt.db);
  auto view = store->conversation(opt.id);
  if (!view) {
    fail(kCommand, view.error().message,
         view.error().code == Error::not_found ? kExitUnknown : kExitBadInput);
  }
  switch (opt.out.format()) {
    case Format::json:
      print_json(*view);
      break;
    case Format::csv:
      print_csv(*view);
      break;
    case Format::table:
      print_table(*view);
      break;
  }
}

}  // namespace

void register_conversation(CLI::App& app) {
  auto opt = std::make_shared<ConversationOptions>();
  CLI::App* sub = app.add_subcommand(
      "conversation", "One conversation turn by turn: spans, models, tokens, cost, errors");
  sub->description(
      "One conversation turn by turn, across traces: each turn's span tree with model,\n"
      "tokens, exact cost, errors and captured prompts/completions, and the running total.\n"
      "Spans from SDKs that do not count turns: each trace is one turn, in time order.\n\n"
      "EXAMPLES\n"
      "  convtrace conversation support_789\n"
      "  convtrace conversation support_789 --json | jq '.turns[] | {turn, cost_usd}'");
  sub->add_option("ID", opt->id, "The conversation id (gen_ai.conversation.id)")->required();
  add_db_option(*sub, opt->db);
  add_format_options(*sub, opt->out);
  sub->footer(
      "EXIT STATUS\n  0 success, 1 no such conversation or no store, 2 bad option or unreadable "
      "store");
  sub->callback([opt] { run(*opt); });
}

}  // namespace convtrace::cli
