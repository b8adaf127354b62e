// `convtrace workflows`: workflow types with their runs and average cost, or
// (--runs) the runs themselves with their costliest step.
#include <iostream>

#include "progress.h"
#include "store_common.h"

namespace convtrace::cli {
namespace {

constexpr std::string_view kCommand = "workflows";

struct WorkflowsOptions {
  std::string type, min_cost, user, since, until;
  bool runs = false;
  std::string db;
  OutputOptions out;
  ListingOptions listing;
};

StoreFilter filter_of(const WorkflowsOptions& opt) {
  StoreFilter f;
  if (!opt.type.empty()) f.workflow_type = opt.type;
  if (!opt.user.empty()) f.user_id = opt.user;
  if (!opt.since.empty()) f.since_unix_nano = parse_time_or_fail(kCommand, "--since", opt.since);
  if (!opt.until.empty()) f.until_unix_nano = parse_time_or_fail(kCommand, "--until", opt.until);
  return f;
}

// The summary by type: `report --by workflow-type` without the spans outside
// any workflow.
void run_summary(const WorkflowsOptions& opt, Store& store, Progress& progress) {
  ReportQuery query{ReportGroup::workflow_type, filter_of(opt)};
  apply_sort(
      kCommand, opt.listing,
      [](const std::string& key) { return parse_report_sort(key == "type" ? "group" : key); },
      query);
  Format format = opt.out.format();
  const int64_t show = rows_to_show(opt.listing, format);
  std::vector<ReportRow> types;
  int64_t skip = opt.listing.offset;
  bool more = false;
  Error e = store.report(query, [&](const ReportRow& r) {
    if (!r.group) return true;  // spans outside any workflow
    if (skip > 0) {
      --skip;
      return true;
    }
    if (show > 0 && static_cast<int64_t>(types.size()) == show) {
      more = true;
      return false;
    }
    types.push_back(r);  // one row per workflow type
    return true;
  });
  progress.stop();
  if (e) fail(kCommand, e.message, kExitBadInput);
  switch (format) {
    case Format::json:
      std::cout << '[';
      for (size_t i = 0; i < types.size(); ++i) {
        const ReportRow& r = types[i];
        std::cout << (i ? "," : "") << "{\"workflow_type\":" << json_string(*r.group)
                  << ",\"runs\":" << r.workflow_runs << ",\"cost_pico_usd\":" << r.cost_pico_usd
                  << ",\"cost_usd\":" << usd_json(r.cost_pico_usd) << ",\"avg_cost_per_run_usd\":"
                  << average_usd_json(r.cost_pico_usd, r.workflow_runs)
                  << ",\"llm_calls\":" << r.llm_calls << ",\"input_tokens\":" << r.input_tokens
                  << ",\"output_tokens\":" << r.output_tokens
                  << ",\"conversations\":" << r.conversations << ",\"errors\":" << r.errors << '}';
      }
      std::cout << "]\n";
      return;
    case Format::csv:
      std::cout << "workflow_type,runs,cost_pico_usd,cost_usd,avg_cost_per_run_usd,llm_calls,"
                   "input_tokens,output_tokens,conversations,errors\n";
      for (const ReportRow& r : types) {
        std::string avg = average_usd_json(r.cost_pico_usd, r.workflow_runs);
        std::cout << csv_field(*r.group) << ',' << r.workflow_runs << ',' << r.cost_pico_usd << ','
                  << usd_json(r.cost_pico_usd) << ',' << (avg == "null" ? "" : avg) << ','
                  << r.llm_calls << ',' << r.input_tokens << ',' << r.output_tokens << ','
                  << r.conversations << ',' << r.errors << '\n';
      }
      return;
    case Format::table:
      break;
  }
  if (types.empty()) {
    std::cout << "no workflow runs match\n";
    return;
  }
  Table table({"TYPE", "RUNS", "COST USD", "AVG/RUN USD", "LLM CALLS", "INPUT TOK", "OUTPUT TOK",
               "ERRORS"});
  for (const ReportRow& r : types) {
    std::string avg = average_usd_json(r.cost_pico_usd, r.workflow_runs);
    table.add({*r.group, std::to_string(r.workflow_runs), pico_to_usd_string(r.cost_pico_usd),
               avg == "null" ? "-" : avg, std::to_string(r.llm_calls),
               std::to_string(r.input_tokens), std::to_string(r.output_tokens),
               std::to_string(r.errors)});
  }
  table.print();
  if (more) print_more_note(opt.listing, show);
  std::cout << "each run, with its costliest step: convtrace workflows --runs"
            << (opt.type.empty() ? " --type TYPE" : " --type " + opt.type) << '\n';
}

std::string run_json(const WorkflowRun& r) {
  return "{\"workflow_id\":" + json_string(r.workflow_id) +
         ",\"workflow_type\":" + json_string(r.workflow_type) +
         ",\"conversation_id\":" + json_string(r.conversation_id) +
         ",\"user_id\":" + json_string(r.user_id) + ",\"trace_id\":" + json_string(r.trace_id) +
         ",\"start_unix_nano\":" + std::to_string(r.start_unix_nano) +
         ",\"end_unix_nano\":" + std::to_string(r.end_unix_nano) +
         ",\"cost_pico_usd\":" + std::to_string(r.cost_pico_usd) +
         ",\"cost_usd\":" + usd_json(r.cost_pico_usd) +
         ",\"cost_from_workflow_span\":" + (r.cost_from_workflow_span ? "true" : "false") +
         ",\"llm_calls\":" + std::to_string(r.llm_calls) +
         ",\"input_tokens\":" + std::to_string(r.input_tokens) +
         ",\"output_tokens\":" + std::to_string(r.output_tokens) +
         ",\"errors\":" + std::to_string(r.errors) + ",\"costliest_step\":" +
         (r.costliest_step.empty() ? std::string("null") : json_string(r.costliest_step)) +
         ",\"costliest_step_cost_pico_usd\":" + std::to_string(r.costliest_step_cost_pico_usd) +
         "}";
}

void run_runs(const WorkflowsOptions& opt, Store& store, Progress& progress) {
  WorkflowQuery query;
  query.filter = filter_of(opt);
  if (!opt.min_cost.empty()) {
    auto pico = parse_usd(opt.min_cost);
    if (!pico) {
      fail(kCommand, "--min-cost '" + opt.min_cost + "' is not a USD amount like 0.01",
           kExitBadInput);
    }
    query.min_cost_pico_usd = *pico;
  }
  apply_sort(kCommand, opt.listing, parse_workflow_sort, query);
  Format format = opt.out.format();
  query.page = page_for(opt.listing, format);
  const int64_t show = rows_to_show(opt.listing, format);
  int64_t n = 0;
  bool more = false;
  std::vector<WorkflowRun> rows;
  if (format == Format::json) std::cout << '[';
  if (format == Format::csv) {
    std::cout << "workflow_id,workflow_type,conversation_id,user_id,start,cost_pico_usd,cost_usd,"
                 "llm_calls,errors,costliest_step,costliest_step_cost_pico_usd\n";
  }
  Error e = store.workflows(query, [&](const WorkflowRun& r) {
    if (show > 0 && n == show) {
      more = true;
      return false;
    }
    progress.stop();
    ++n;
    if (format == Format::json) {
      std::cout << (n > 1 ? "," : "") << run_json(r);
    } else if (format == Format::csv) {
      std::cout << csv_field(r.workflow_id) << ',' << csv_field(r.workflow_type) << ','
                << csv_field(r.conversation_id) << ',' << csv_field(r.user_id) << ','
                << format_time(r.start_unix_nano) << ',' << r.cost_pico_usd << ','
                << usd_json(r.cost_pico_usd) << ',' << r.llm_calls << ',' << r.errors << ','
                << csv_field(r.costliest_step) << ',' << r.costliest_step_cost_pico_usd << '\n';
    } else {
      rows.push_back(r);  // at most the page shown
    }
    return true;
  });
  progress.stop();
  if (e) fail(kCommand, e.message, kExitBadInput);
  if (format == Format::json) std::cout << "]\n";
  if (format != Format::table) return;
  if (rows.empty()) {
    std::cout << (opt.listing.offset > 0 ? "no more workflow runs\n" : "no workflow runs match\n");
    return;
  }
  Table table({"WORKFLOW", "TYPE", "CONVERSATION", "USER", "STARTED (UTC)", "COST USD", "LLM CALLS",
               "COSTLIEST STEP", "STEP USD"});
  for (const WorkflowRun& r : rows) {
    table.add({r.workflow_id, r.workflow_type, r.conversation_id.empty() ? "-" : r.conversation_id,
               r.user_id.empty() ? "-" : r.user_id, format_time(r.start_unix_nano),
               pico_to_usd_string(r.cost_pico_usd), std::to_string(r.llm_calls),
               r.costliest_step.empty() ? "-" : r.costliest_step,
               pico_to_usd_string(r.costliest_step_cost_pico_usd)});
  }
  table.print({1, 2, 3, 4, 7});
  if (more) print_more_note(opt.listing, show);
}

void run(const WorkflowsOptions& opt) {
  auto store = open_store_for_reading(kCommand, opt.db);
  Progress progress(kCommand);
  // A cost threshold is about runs: it asks for them.
  if (opt.runs || !opt.min_cost.empty()) {
    run_runs(opt, *store, progress);
  } else {
    run_summary(opt, *store, progress);
  }
}

}  // namespace

void register_workflows(CLI::App& app) {
  auto opt = std::make_shared<WorkflowsOptions>();
  CLI::App* sub = app.add_subcommand(
      "workflows", "Workflow types with their runs and average cost; --runs for each run");
  sub->description(
      "Workflow types, costliest first: runs, total and average cost per run, calls, tokens\n"
      "and errors (the numbers of 'report --by workflow-type'; a call counts in the type of\n"
      "its innermost workflow). With --runs (or --min-cost): each run, costliest first, with\n"
      "the step (direct child of the workflow span) that cost most. A run's cost is\n"
      "workflow.total_cost_pico_usd from its workflow span, else the sum of its calls' own\n"
      "costs. A table shows 50 rows; --json and --csv stream every row unless --limit is given.\n\n"
      "EXAMPLES\n"
      "  convtrace workflows\n"
      "  convtrace workflows --runs --type rag_v2 --top 20\n"
      "  convtrace workflows --min-cost 0.01 --json");
  sub->add_flag("--runs", opt->runs, "List the runs instead of the types");
  sub->add_option("--type", opt->type, "Only this workflow.type");
  sub->add_option("--min-cost", opt->min_cost,
                  "Only runs costing at least this many USD (implies --runs)");
  sub->add_option("--user", opt->user, "Only this user.id");
  sub->add_option("--since", opt->since, "Only spans (runs) starting at or after this date/time");
  sub->add_option("--until", opt->until, "Only spans (runs) starting before this date/time");
  add_listing_options(*sub, opt->listing,
                      "types: cost, type, runs, llm-calls, errors (default cost:desc); runs: "
                      "cost, start, llm-calls, errors, id (default cost:desc)");
  add_db_option(*sub, opt->db);
  add_format_options(*sub, opt->out);
  sub->footer("EXIT STATUS\n  0 success, 1 no store at --db, 2 bad option or unreadable store");
  sub->callback([opt] { run(*opt); });
}

}  // namespace convtrace::cli
