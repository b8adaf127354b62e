// `convtrace conversation ID`: one conversation turn by turn.
#include <cstdio>
#include <iostream>

#include "records.h"

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

// "0.42 ms", "12.3 ms", "1.25 s": short spans are not all "0 ms".
std::string duration_text(uint64_t nanos) {
  char buf[32];
  double ms = static_cast<double>(nanos) / 1e6;
  if (ms >= 1000) {
    std::snprintf(buf, sizeof buf, "%.2f s", ms / 1000);
  } else if (ms >= 10) {
    std::snprintf(buf, sizeof buf, "%.1f ms", ms);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f ms", ms);
  }
  return buf;
}

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
    std::string_view outcome = turn_outcome(t);
    if (outcome == "failed") std::cout << "  FAILED";
    if (outcome == "recovered") std::cout << "  RECOVERED (an error inside, the turn succeeded)";
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
      std::cout << "  +" << duration_text(s.start_unix_nano - t.start_unix_nano) << " "
                << duration_text(s.end_unix_nano - s.start_unix_nano);
      if (!s.error.empty()) {
        std::cout << "  ERROR " << s.error;
        if (!s.error_message.empty() && s.error_message != s.error)
          std::cout << ": " << shorten(s.error_message, 200);
      }
      std::cout << '\n';
      if (s.input_messages)
        std::cout << indent << "  > " << shorten(readable(*s.input_messages), 100) << '\n';
      if (s.output_messages)
        std::cout << indent << "  < " << shorten(readable(*s.output_messages), 100) << '\n';
    }
  }
}

// One row per span: the turn's number and outcome, then the span's fields
// as --json gives them.
Record csv_span(const TurnView& t, const SpanView& s) {
  Record r;
  r.integer("turn", t.turn).text("turn_outcome", turn_outcome(t));
  return r.append(span_record(s, t));
}

void print_csv(const ConversationView& v) {
  RecordPrinter printer(Format::csv, csv_span(TurnView{}, SpanView{}));
  for (const TurnView& t : v.turns) {
    for (const SpanView& s : t.spans) printer.print(csv_span(t, s));
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
      std::cout << conversation_json(*view) << '\n';
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
      "  convtrace conversation support_789 --json | jq '.turns[] | {turn, outcome, cost_usd}'\n\n"
      "A turn with an error inside whose top span still ended well (a retry or fallback\n"
      "worked) is RECOVERED; one whose top span ended in error is FAILED. Each span shows\n"
      "its start offset from the turn's start (+12.5 ms) and its duration.");
  sub->add_option("ID", opt->id, "The conversation id (gen_ai.conversation.id)")->required();
  add_db_option(*sub, opt->db);
  add_format_options(*sub, opt->out);
  sub->footer(
      "EXIT STATUS\n  0 success, 1 no such conversation or no store, 2 bad option or unreadable "
      "store");
  sub->callback([opt] { run(*opt); });
}

}  // namespace convtrace::cli
