// `convtrace prune --before DATE | --keep 30d`: retention, in whole days.
#include <iostream>

#include "progress.h"
#include "store_common.h"

namespace convtrace::cli {
namespace {

constexpr std::string_view kCommand = "prune";

struct PruneOptions {
  std::string before, keep;
  std::string db;
  bool json = false;
};

void run(const PruneOptions& opt) {
  if (opt.before.empty() == opt.keep.empty()) {
    fail(kCommand, "give one of --before DATE or --keep DAYS (e.g. --keep 30d)", kExitBadInput);
  }
  uint64_t before = 0;
  if (!opt.before.empty()) {
    before = parse_time_or_fail(kCommand, "--before", opt.before);
  } else {
    auto days = parse_days(opt.keep);
    if (!days)
      fail(kCommand, "--keep '" + opt.keep + "' is not a number of days like 30d", kExitBadInput);
    before = keep_days_cutoff(*days);
  }
  // The store must exist: prune never creates one.
  { auto existing = open_store_for_reading(kCommand, opt.db); }
  auto store = Store::open(opt.db);
  if (!store) fail(kCommand, store.error().message, kExitBadInput);
  Progress progress(kCommand);
  auto result = (*store)->prune(before);
  progress.stop();
  if (!result) fail(kCommand, result.error().message, kExitBadInput);
  if (opt.json) {
    std::cout << "{\"before_unix_nano\":" << result->before_unix_nano
              << ",\"before\":" << json_string(format_rfc3339(result->before_unix_nano))
              << ",\"spans\":" << result->spans << ",\"conversations\":" << result->conversations
              << ",\"workflow_runs\":" << result->workflow_runs << "}\n";
    return;
  }
  std::cout << "removed " << result->spans << " span(s) that started before "
            << format_time(result->before_unix_nano) << " UTC; " << result->conversations
            << " conversation(s) and " << result->workflow_runs
            << " workflow run(s) had no span left\n";
}

}  // namespace

void register_prune(CLI::App& app) {
  auto opt = std::make_shared<PruneOptions>();
  CLI::App* sub = app.add_subcommand("prune", "Remove old spans (retention), in whole days");
  sub->description(
      "Removes every span that started before a UTC midnight, with its share of every report,\n"
      "in one transaction: reports afterwards are what the spans left add up to (a\n"
      "conversation that began before the cut and went on keeps its later turns). Whole days:\n"
      "a time is taken back to its midnight, so nothing of the day it names is removed. On\n"
      "PostgreSQL the days' partitions are dropped; an SQLite file keeps its size and reuses\n"
      "the space. 'collect --retention' does the same every hour.\n\n"
      "EXAMPLES\n"
      "  convtrace prune --keep 30d            # today and the 30 days before it stay\n"
      "  convtrace prune --before 2024-03-01 --db postgresql://convtrace@db.internal/convtrace");
  sub->add_option("--before", opt->before,
                  "Remove spans that started before this date (midnight UTC) or the midnight "
                  "before this time");
  sub->add_option("--keep", opt->keep, "Keep today and this many days before it (30d)");
  add_db_option(*sub, opt->db);
  sub->add_flag("--json", opt->json, "Print what was removed as JSON");
  sub->footer(
      "EXIT STATUS\n  0 success, 1 no store at --db, 2 bad option or the store cannot be written");
  sub->callback([opt] { run(*opt); });
}

}  // namespace convtrace::cli
