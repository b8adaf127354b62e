// `convtrace report --by user|model|workflow-type|conversation|day`: cost and tokens by group.
#include <iostream>

#include "progress.h"
#include "store_common.h"

namespace convtrace::cli {
namespace {

constexpr std::string_view kCommand = "report";

struct ReportOptions {
  std::string by = "user";
  std::string since, until, user, workflow_type;
  std::string db;
  OutputOptions out;
  ListingOptions listing;
};

std::string row_json(const ReportRow& r) {
  return "{\"group\":" + (r.group ? json_string(*r.group) : std::string("null")) +
         ",\"cost_pico_usd\":" + std::to_string(r.cost_pico_usd) +
         ",\"cost_usd\":" + usd_json(r.cost_pico_usd) +
         ",\"llm_calls\":" + std::to_string(r.llm_calls) +
         ",\"unpriced_calls\":" + std::to_string(r.unpriced_calls) +
         ",\"input_tokens\":" + std::to_string(r.input_tokens) +
         ",\"output_tokens\":" + std::to_string(r.output_tokens) +
         ",\"cache_read_tokens\":" + std::to_string(r.cache_read_tokens) +
         ",\"cache_write_tokens\":" + std::to_string(r.cache_write_tokens) +
         ",\"reasoning_tokens\":" + std::to_string(r.reasoning_tokens) +
         ",\"conversations\":" + std::to_string(r.conversations) +
         ",\"workflow_runs\":" + std::to_string(r.workflow_runs) +
         ",\"errors\":" + std::to_string(r.errors) + ",\"spans\":" + std::to_string(r.spans) +
         ",\"avg_cost_per_conversation_usd\":" +
         average_usd_json(r.cost_pico_usd, r.conversations) +
         ",\"avg_cost_per_run_usd\":" + average_usd_json(r.cost_pico_usd, r.workflow_runs) +
         ",\"cost_disagreements\":" + std::to_string(r.cost_disagreements) + "}";
}

void run(const ReportOptions& opt) {
  auto group = parse_report_group(opt.by);
  if (!group) fail(kCommand, group.error().message, kExitBadInput);
  ReportQuery query;
  query.by = *group;
  if (!opt.since.empty())
    query.filter.since_unix_nano = parse_time_or_fail(kCommand, "--since", opt.since);
  if (!opt.until.empty())
    query.filter.until_unix_nano = parse_time_or_fail(kCommand, "--until", opt.until);
  if (!opt.user.empty()) query.filter.user_id = opt.user;
  if (!opt.workflow_type.empty()) query.filter.workflow_type = opt.workflow_type;
  apply_sort(kCommand, opt.listing, parse_report_sort, query);
  Format format = opt.out.format();
  query.page = page_for(opt.listing, format);
  const int64_t show = rows_to_show(opt.listing, format);

  auto store = open_store_for_reading(kCommand, opt.db);
  Progress progress(kCommand);
  if (format != Format::table) {
    // Streamed: any number of groups in bounded memory.
    int64_t n = 0;
    if (format == Format::json) std::cout << '[';
    if (format == Format::csv) {
      std::cout << "group,cost_pico_usd,cost_usd,llm_calls,unpriced_calls,input_tokens,"
                   "output_tokens,cache_read_tokens,cache_write_tokens,reasoning_tokens,"
                   "conversations,workflow_runs,errors,cost_disagreements\n";
    }
    Error e = store->report(query, [&](const ReportRow& r) {
      if (show > 0 && n == show) return false;
      progress.stop();
      if (format == Format::json) {
        std::cout << (n ? "," : "") << row_json(r);
      } else {
        std::cout << csv_field(r.group.value_or("")) << ',' << r.cost_pico_usd << ','
                  << usd_json(r.cost_pico_usd) << ',' << r.llm_calls << ',' << r.unpriced_calls
                  << ',' << r.input_tokens << ',' << r.output_tokens << ',' << r.cache_read_tokens
                  << ',' << r.cache_write_tokens << ',' << r.reasoning_tokens << ','
                  << r.conversations << ',' << r.workflow_runs << ',' << r.errors << ','
                  << r.cost_disagreements << '\n';
      }
      ++n;
      return true;
    });
    progress.stop();
    if (e) fail(kCommand, e.message, kExitBadInput);
    if (format == Format::json) std::cout << "]\n";
    return;
  }

  auto rows = store->report(query);
  if (!rows) fail(kCommand, rows.error().message, kExitBadInput);
  bool more = show > 0 && static_cast<int64_t>(rows->size()) > show;
  if (more) rows->resize(static_cast<size_t>(show));
  auto total = store->report_total(query.filter);
  if (!total) fail(kCommand, total.error().message, kExitBadInput);
  progress.stop();
  if (rows->empty()) {
    std::cout << (opt.listing.offset > 0 ? "no more groups\n" : "no spans match\n");
    return;
  }
  bool per_run = query.by == ReportGroup::workflow_type;
  Table table({std::string(to_string(query.by)), "COST USD", "LLM CALLS", "INPUT TOK", "OUTPUT TOK",
               "CONVERSATIONS", per_run ? "RUNS" : "ERRORS",
               per_run ? "AVG/RUN USD" : "AVG/CONVERSATION USD"});
  for (const ReportRow& r : *rows) {
    std::string avg = per_run ? average_usd_json(r.cost_pico_usd, r.workflow_runs)
                              : average_usd_json(r.cost_pico_usd, r.conversations);
    table.add({r.group.value_or("(none)"), pico_to_usd_string(r.cost_pico_usd),
               std::to_string(r.llm_calls), std::to_string(r.input_tokens),
               std::to_string(r.output_tokens), std::to_string(r.conversations),
               std::to_string(per_run ? r.workflow_runs : r.errors), avg == "null" ? "-" : avg});
  }
  // Every matching span, also when the table shows some of the groups.
  table.add({"TOTAL", pico_to_usd_string(total->cost_pico_usd), std::to_string(total->llm_calls),
             std::to_string(total->input_tokens), std::to_string(total->output_tokens), "", "",
             ""});
  table.print();
  if (more) print_more_note(opt.listing, show);
  if (total->unpriced_calls > 0) {
    std::cout << "note: " << total->unpriced_calls
              << " call(s) used a model without a price and are not in the cost\n";
  }
  if (total->cost_disagreements > 0) {
    std::cout << "note: " << total->cost_disagreements
              << " call(s) sent a cost that differs from the price catalog's; the sent cost is "
                 "the one counted (column catalog_cost_pico in the store has the catalog's)\n";
  }
}

}  // namespace

void register_report(CLI::App& app) {
  auto opt = std::make_shared<ReportOptions>();
  CLI::App* sub = app.add_subcommand(
      "report", "Cost and tokens grouped by user, model, workflow type, conversation or day");
  sub->description(
      "Cost and tokens grouped by user, model, workflow type, conversation or day.\n\n"
      "Sums the exact per-call cost (integer pico-USD) of every stored span that recorded\n"
      "usage. Times are span start times; --until is exclusive; a date means midnight UTC.\n"
      "Reads roll-ups kept as spans are stored, so it answers at once at any store size\n"
      "(--by conversation reads the spans themselves: see 'convtrace conversations').\n"
      "CONVERSATIONS and RUNS count each conversation (run) once per group, where its\n"
      "first span in the group falls. A table shows the first 50 groups and the TOTAL of\n"
      "all; --json and --csv stream every group.\n\n"
      "A call that sent its own cost is counted at that cost; when the price catalog\n"
      "disagrees, the table says how many did (cost_disagreements in --json and --csv).\n\n"
      "EXAMPLES\n"
      "  convtrace report --by user --user acme --since 2024-03-01 --until 2024-04-01\n"
      "  convtrace report --by workflow-type          # average cost per run\n"
      "  convtrace report --by day --json\n"
      "  convtrace report --by user --top 10 --sort conversations\n"
      "  convtrace report --by model --db postgresql://convtrace@db.internal/convtrace");
  sub->add_option("--by", opt->by,
                  "user | model | workflow-type | conversation | day (default user)");
  sub->add_option("--since", opt->since, "Only spans starting at or after this date/time");
  sub->add_option("--until", opt->until, "Only spans starting before this date/time");
  sub->add_option("--user", opt->user, "Only this user.id");
  sub->add_option("--workflow-type", opt->workflow_type, "Only this workflow.type");
  add_listing_options(*sub, opt->listing,
                      "cost, group, llm-calls, input-tokens, output-tokens, conversations, runs, "
                      "errors (default cost:desc; --by day: group:asc)");
  add_db_option(*sub, opt->db);
  add_format_options(*sub, opt->out);
  sub->footer("EXIT STATUS\n  0 success, 1 no store at --db, 2 bad option or unreadable store");
  sub->callback([opt] { run(*opt); });
}

}  // namespace convtrace::cli
