// `convtrace workflows`: workflow runs with their cost and costliest step.
#include <iostream>

#include "store_common.h"

namespace convtrace::cli {
namespace {

constexpr std::string_view kCommand = "workflows";

struct WorkflowsOptions {
  std::string type, min_cost, user, since, until;
  std::string db;
  OutputOptions out;
};

void run(const WorkflowsOptions& opt) {
  WorkflowQuery query;
  if (!opt.type.empty()) query.filter.workflow_type = opt.type;
  if (!opt.user.empty()) query.filter.user_id = opt.user;
  if (!opt.since.empty())
    query.filter.since_unix_nano = parse_time_or_fail(kCommand, "--since", opt.since);
  if (!opt.until.empty())
    query.filter.until_unix_nano = parse_time_or_fail(kCommand, "--until", opt.until);
  if (!opt.min_cost.empty()) {
    auto pico = parse_usd(opt.min_cost);
    if (!pico)
      fail(kCommand, "--min-cost '" + opt.min_cost + "' is not a USD amount like 0.01",
           kExitBadInput);
    query.min_cost_pico_usd = *pico;
  }
  auto store = open_store_for_reading(kCommand, opt.db);
  auto runs = store->workflows(query);
  if (!runs) fail(kCommand, runs.error().message, kExitBadInput);

  switch (opt.out.format()) {
    case Format::json:
      std::cout << '[';
      for (size_t i = 0; i < runs->size(); ++i) {
        const WorkflowRun& r = (*runs)[i];
        std::cout << (i ? "," : "") << "{\"workflow_id\":" << json_string(r.workflow_id)
                  << ",\"workflow_type\":" << json_string(r.workflow_type)
                  << ",\"conversation_id\":" << json_string(r.conversation_id)
                  << ",\"user_id\":" << json_string(r.user_id)
                  << ",\"trace_id\":" << json_string(r.trace_id)
                  << ",\"start_unix_nano\":" << r.start_unix_nano
                  << ",\"end_unix_nano\":" << r.end_unix_nano
                  << ",\"cost_pico_usd\":" << r.cost_pico_usd
                  << ",\"cost_usd\":" << usd_json(r.cost_pico_usd)
                  << ",\"cost_from_workflow_span\":"
                  << (r.cost_from_workflow_span ? "true" : "false")
                  << ",\"llm_calls\":" << r.llm_calls << ",\"input_tokens\":" << r.input_tokens
                  << ",\"output_tokens\":" << r.output_tokens << ",\"errors\":" << r.errors
                  << ",\"costliest_step\":"
                  << (r.costliest_step.empty() ? "null" : json_string(r.costliest_step))
                  << ",\"costliest_step_cost_pico_usd\":" << r.costliest_step_cost_pico_usd << '}';
      }
      std::cout << "]\n";
      return;
    case Format::csv:
      std::cout << "workflow_id,workflow_type,conversation_id,user_id,start,cost_pico_usd,cost_usd,"
                   "llm_calls,errors,costliest_step,costliest_step_cost_pico_usd\n";
      for (const WorkflowRun& r : *runs) {
        std::cout << csv_field(r.workflow_id) << ',' << csv_field(r.workflow_type) << ','
                  << csv_field(r.conversation_id) << ',' << csv_field(r.user_id) << ','
                  << format_time(r.start_unix_nano) << ',' << r.cost_pico_usd << ','
                  << usd_json(r.cost_pico_usd) << ',' << r.llm_calls << ',' << r.errors << ','
                  << csv_field(r.costliest_step) << ',' << r.costliest_step_cost_pico_usd << '\n';
      }
      return;
    case Format::table:
      break;
  }
  if (runs->empty()) {
    std::cout << "no workflow runs match\n";
    return;
  }
  Table table({"WORKFLOW", "TYPE", "CONVERSATION", "USER", "STARTED (UTC)", "COST USD", "LLM CALLS",
               "COSTLIEST STEP", "STEP USD"});
  for (const WorkflowRun& r : *runs) {
    table.add({r.workflow_id, r.workflow_type, r.conversation_id.empty() ? "-" : r.conversation_id,
               r.user_id.empty() ? "-" : r.user_id, format_time(r.start_unix_nano),
               pico_to_usd_string(r.cost_pico_usd), std::to_string(r.llm_calls),
               r.costliest_step.empty() ? "-" : r.costliest_step,
               pico_to_usd_string(r.costliest_step_cost_pico_usd)});
  }
  table.print({1, 2, 3, 4, 7});
}

}  // namespace

void register_workflows(CLI::App& app) {
  auto opt = std::make_shared<WorkflowsOptions>();
  CLI::App* sub =
      app.add_subcommand("workflows", "Workflow runs with their cost and costliest step");
  sub->description(
      "Workflow runs, costliest first, with the step (direct child of the workflow span)\n"
      "that cost most. A run's cost is workflow.total_cost_pico_usd from its workflow span,\n"
      "else the sum of its calls' own costs.\n\n"
      "EXAMPLES\n"
      "  convtrace workflows --type rag_v2\n"
      "  convtrace workflows --min-cost 0.01 --json");
  sub->add_option("--type", opt->type, "Only runs of this workflow.type");
  sub->add_option("--min-cost", opt->min_cost, "Only runs costing at least this many USD");
  sub->add_option("--user", opt->user, "Only runs of this user.id");
  sub->add_option("--since", opt->since,
                  "Only runs with spans starting at or after this date/time");
  sub->add_option("--until", opt->until, "Only runs with spans starting before this date/time");
  add_db_option(*sub, opt->db);
  add_format_options(*sub, opt->out);
  sub->footer("EXIT STATUS\n  0 success, 1 no store at --db, 2 bad option or unreadable store");
  sub->callback([opt] { run(*opt); });
}

}  // namespace convtrace::cli
