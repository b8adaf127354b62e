// `convtrace conversations`: the list of conversations, from their summaries.
#include <iostream>

#include "progress.h"
#include "store_common.h"

namespace convtrace::cli {
namespace {

constexpr std::string_view kCommand = "conversations";

struct ConversationsOptions {
  std::string user, since, until;
  std::string db;
  OutputOptions out;
  ListingOptions listing;
};

std::string summary_json(const ConversationSummary& c) {
  return "{\"conversation_id\":" + json_string(c.conversation_id) +
         ",\"user_id\":" + (c.user_id.empty() ? std::string("null") : json_string(c.user_id)) +
         ",\"first_seen_unix_nano\":" + std::to_string(c.first_seen_unix_nano) +
         ",\"last_seen_unix_nano\":" + std::to_string(c.last_seen_unix_nano) +
         ",\"turns\":" + std::to_string(c.turns) + ",\"spans\":" + std::to_string(c.spans) +
         ",\"llm_calls\":" + std::to_string(c.llm_calls) +
         ",\"unpriced_calls\":" + std::to_string(c.unpriced_calls) +
         ",\"cost_pico_usd\":" + std::to_string(c.cost_pico_usd) +
         ",\"cost_usd\":" + usd_json(c.cost_pico_usd) +
         ",\"input_tokens\":" + std::to_string(c.input_tokens) +
         ",\"output_tokens\":" + std::to_string(c.output_tokens) +
         ",\"cache_read_tokens\":" + std::to_string(c.cache_read_tokens) +
         ",\"cache_write_tokens\":" + std::to_string(c.cache_write_tokens) +
         ",\"reasoning_tokens\":" + std::to_string(c.reasoning_tokens) +
         ",\"errors\":" + std::to_string(c.errors) +
         ",\"workflow_runs\":" + std::to_string(c.workflow_runs) + "}";
}

void run(const ConversationsOptions& opt) {
  ConversationQuery query;
  if (!opt.user.empty()) query.filter.user_id = opt.user;
  if (!opt.since.empty())
    query.filter.since_unix_nano = parse_time_or_fail(kCommand, "--since", opt.since);
  if (!opt.until.empty())
    query.filter.until_unix_nano = parse_time_or_fail(kCommand, "--until", opt.until);
  apply_sort(kCommand, opt.listing, parse_conversation_sort, query);
  Format format = opt.out.format();
  query.page = page_for(opt.listing, format);
  const int64_t show = rows_to_show(opt.listing, format);

  auto store = open_store_for_reading(kCommand, opt.db);
  Progress progress(kCommand);
  int64_t n = 0;
  bool more = false;
  std::vector<ConversationSummary> rows;
  if (format == Format::json) std::cout << '[';
  if (format == Format::csv) {
    std::cout << "conversation_id,user_id,first_seen,last_seen,turns,llm_calls,cost_pico_usd,"
                 "cost_usd,input_tokens,output_tokens,errors,workflow_runs\n";
  }
  Error e = store->conversations(query, [&](const ConversationSummary& c) {
    if (show > 0 && n == show) {
      more = true;
      return false;
    }
    progress.stop();
    ++n;
    switch (format) {
      case Format::json:
        std::cout << (n > 1 ? "," : "") << summary_json(c);
        break;
      case Format::csv:
        std::cout << csv_field(c.conversation_id) << ',' << csv_field(c.user_id) << ','
                  << format_time(c.first_seen_unix_nano) << ','
                  << format_time(c.last_seen_unix_nano) << ',' << c.turns << ',' << c.llm_calls
                  << ',' << c.cost_pico_usd << ',' << usd_json(c.cost_pico_usd) << ','
                  << c.input_tokens << ',' << c.output_tokens << ',' << c.errors << ','
                  << c.workflow_runs << '\n';
        break;
      case Format::table:
        rows.push_back(c);  // at most the page shown
        break;
    }
    return true;
  });
  progress.stop();
  if (e) fail(kCommand, e.message, kExitBadInput);
  if (format == Format::json) std::cout << "]\n";
  if (format != Format::table) return;
  if (rows.empty()) {
    std::cout << (opt.listing.offset > 0 ? "no more conversations\n" : "no conversations match\n");
    return;
  }
  Table table({"CONVERSATION", "USER", "FIRST SEEN (UTC)", "LAST SEEN (UTC)", "TURNS", "LLM CALLS",
               "COST USD", "ERRORS"});
  for (const ConversationSummary& c : rows) {
    table.add({c.conversation_id, c.user_id.empty() ? "-" : c.user_id,
               format_time(c.first_seen_unix_nano), format_time(c.last_seen_unix_nano),
               std::to_string(c.turns), std::to_string(c.llm_calls),
               pico_to_usd_string(c.cost_pico_usd), std::to_string(c.errors)});
  }
  table.print({1, 2, 3});
  if (more) print_more_note(opt.listing, show);
}

}  // namespace

void register_conversations(CLI::App& app) {
  auto opt = std::make_shared<ConversationsOptions>();
  CLI::App* sub = app.add_subcommand(
      "conversations", "The list of conversations: user, first/last seen, turns, cost, errors");
  sub->description(
      "The list of conversations: user, first and last seen, turns, calls, exact cost and\n"
      "errors, most recent first. Read from summaries kept as spans are stored, so a page\n"
      "comes at once at any store size. A conversation's sums cover the spans that carry\n"
      "its id (the conversation view also counts other spans of its traces). --since and\n"
      "--until keep the conversations with a span starting in that range. A table shows\n"
      "50 rows; --json and --csv stream every row unless --limit is given.\n\n"
      "EXAMPLES\n"
      "  convtrace conversations\n"
      "  convtrace conversations --user acme --since 2024-03-01 --sort cost --top 20\n"
      "  convtrace conversations --sort turns --limit 100 --offset 100 --json");
  sub->add_option("--user", opt->user, "Only conversations of this user.id");
  sub->add_option("--since", opt->since, "Only conversations with a span at or after this time");
  sub->add_option("--until", opt->until, "Only conversations with a span before this time");
  add_listing_options(*sub, opt->listing,
                      "last-seen, first-seen, cost, turns, llm-calls, errors, id "
                      "(default last-seen:desc; id: asc)");
  add_db_option(*sub, opt->db);
  add_format_options(*sub, opt->out);
  sub->footer("EXIT STATUS\n  0 success, 1 no store at --db, 2 bad option or unreadable store");
  sub->callback([opt] { run(*opt); });
}

}  // namespace convtrace::cli
