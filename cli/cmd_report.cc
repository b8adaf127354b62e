// `convtrace report --by user|model|workflow-type|conversation|day`: cost and tokens by group.
#include <iostream>

#include "store_common.h"

namespace convtrace::cli {
namespace {

constexpr std::string_view kCommand = "report";

struct ReportOptions {
  std::string by = "user";
  std::string since, until, user, workflow_type;
  std::string db;
  OutputOptions out;
};

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

  auto store = open_store_for_reading(kCommand, opt.db);
  auto rows = store->report(query);
  if (!rows) fail(kCommand, rows.error().message, kExitBadInput);
  bool per_run = query.by == ReportGroup::workflow_type;

  switch (opt.out.format()) {
    case Format::json: {
      std::cout << '[';
      for (size_t i = 0; i < rows->size(); ++i) {
        const ReportRow& r = (*rows)[i];
        std::cout << (i ? "," : "") << "{\"group\":" << (r.group ? json_string(*r.group) : "null")
                  << ",\"cost_pico_usd\":" << r.cost_pico_usd
                  << ",\"cost_usd\":" << usd_json(r.cost_pico_usd)
                  << ",\"llm_calls\":" << r.llm_calls << ",\"unpriced_calls\":" << r.unpriced_calls
                  << ",\"input_tokens\":" << r.input_tokens
                  << ",\"output_tokens\":" << r.output_tokens
                  << ",\"cache_read_tokens\":" << r.cache_read_tokens
                  << ",\"cache_write_tokens\":" << r.cache_write_tokens
                  << ",\"reasoning_tokens\":" << r.reasoning_tokens
                  << ",\"conversations\":" << r.conversations
                  << ",\"workflow_runs\":" << r.workflow_runs << ",\"errors\":" << r.errors
                  << ",\"avg_cost_per_conversation_usd\":"
                  << average_usd_json(r.cost_pico_usd, r.conversations)
                  << ",\"avg_cost_per_run_usd\":"
                  << average_usd_json(r.cost_pico_usd, r.workflow_runs)
                  << ",\"cost_disagreements\":" << r.cost_disagreements << '}';
      }
      std::cout << "]\n";
      return;
    }
    case Format::csv:
      std::cout
          << "group,cost_pico_usd,cost_usd,llm_calls,unpriced_calls,input_tokens,output_tokens,"
             "cache_read_tokens,cache_write_tokens,reasoning_tokens,conversations,"
             "workflow_runs,errors,cost_disagreements\n";
      for (const ReportRow& r : *rows) {
        std::cout << csv_field(r.group.value_or("")) << ',' << r.cost_pico_usd << ','
                  << usd_json(r.cost_pico_usd) << ',' << r.llm_calls << ',' << r.unpriced_calls
                  << ',' << r.input_tokens << ',' << r.output_tokens << ',' << r.cache_read_tokens
                  << ',' << r.cache_write_tokens << ',' << r.reasoning_tokens << ','
                  << r.conversations << ',' << r.workflow_runs << ',' << r.errors << ','
                  << r.cost_disagreements << '\n';
      }
      return;
    case Format::table:
      break;
  }
  if (rows->empty()) {
    std::cout << "no spans match\n";
    return;
  }
  Table table({std::string(to_string(query.by)), "COST USD", "LLM CALLS", "INPUT TOK", "OUTPUT TOK",
               "CONVERSATIONS", per_run ? "RUNS" : "ERRORS",
               per_run ? "AVG/RUN USD" : "AVG/CONVERSATION USD"});
  int64_t cost = 0, calls = 0, in = 0, out = 0;
  for (const ReportRow& r : *rows) {
    cost += r.cost_pico_usd;
    calls += r.llm_calls;
    in += r.input_tokens;
    out += r.output_tokens;
    std::string avg = per_run ? average_usd_json(r.cost_pico_usd, r.workflow_runs)
                              : average_usd_json(r.cost_pico_usd, r.conversations);
    table.add({r.group.value_or("(none)"), pico_to_usd_string(r.cost_pico_usd),
               std::to_string(r.llm_calls), std::to_string(r.input_tokens),
               std::to_string(r.output_tokens), std::to_string(r.conversations),
               std::to_string(per_run ? r.workflow_runs : r.errors), avg == "null" ? "-" : avg});
  }
  table.add({"TOTAL", pico_to_usd_string(cost), std::to_string(calls), std::to_string(in),
             std::to_string(out), "", "", ""});
  table.print();
  int64_t unpriced = 0, disagreements = 0;
  for (const ReportRow& r : *rows) {
    unpriced += r.unpriced_calls;
    disagreements += r.cost_disagreements;
  }
  if (unpriced > 0) {
    std::cout << "note: " << unpriced
              << " call(s) used a model without a price and are not in the cost\n";
  }
  if (disagreements > 0) {
    std::cout << "note: " << disagreements
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
      "A call that sent its own cost is counted at that cost; when the price catalog\n"
      "disagrees, the table says how many did (cost_disagreements in --json and --csv).\n\n"
      "EXAMPLES\n"
      "  convtrace report --by user --user acme --since 2024-03-01 --until 2024-04-01\n"
      "  convtrace report --by workflow-type          # average cost per run\n"
      "  convtrace report --by day --json");
  sub->add_option("--by", opt->by,
                  "user | model | workflow-type | conversation | day (default user)");
  sub->add_option("--since", opt->since, "Only spans starting at or after this date/time");
  sub->add_option("--until", opt->until, "Only spans starting before this date/time");
  sub->add_option("--user", opt->user, "Only this user.id");
  sub->add_option("--workflow-type", opt->workflow_type, "Only this workflow.type");
  add_db_option(*sub, opt->db);
  add_format_options(*sub, opt->out);
  sub->footer("EXIT STATUS\n  0 success, 1 no store at --db, 2 bad option or unreadable store");
  sub->callback([opt] { run(*opt); });
}

}  // namespace convtrace::cli
