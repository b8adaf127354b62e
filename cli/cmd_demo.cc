// `convtrace demo`: a simulated application recorded into the store, through the real SDK.
#include <cstdio>
#include <iostream>

#include "convtrace/convtrace.h"
#include "demo_scenario.h"
#include "store_common.h"

namespace convtrace::cli {
namespace {

constexpr std::string_view kCommand = "demo";

struct DemoOptions {
  std::string db;
  bool fresh = false;
  bool quiet = false;
};

void run(const DemoOptions& opt) {
  if (opt.fresh) {
    if (is_postgresql_location(opt.db)) {
      fail(kCommand, "--fresh deletes a file; for a PostgreSQL store use an empty database",
           kExitBadInput);
    }
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((opt.db + suffix).c_str());
  } else {
    StoreOptions read;
    read.read_only = true;
    auto existing = Store::open(opt.db, read);
    if (existing && (*existing)->span_count().has_value() && *(*existing)->span_count() > 0) {
      fail(kCommand,
           redact_location(opt.db) +
               " already holds spans; pass --fresh to replace it or --db to use another store",
           kExitBadInput);
    }
  }

  auto exporter = make_store_exporter(opt.db);
  if (!exporter) fail(kCommand, exporter.error().message, kExitBadInput);
  Config config;
  config.read_environment = false;
  config.service_name = "convtrace-demo";
  config.exporter = ExporterKind::custom;
  config.custom_exporter = std::move(*exporter);
  config.content.enabled = true;  // the demo shows prompts and completions
  config.pricing = Pricing::builtin();
  auto sdk = Sdk::create(std::move(config));
  if (!sdk) fail(kCommand, sdk.error().message, kExitBadInput);
  install(*sdk);

  if (!opt.quiet) {
    std::cout << "Recording a simulated support app into " << redact_location(opt.db)
              << " (recorded provider responses; no network, no keys)\n\n";
  }
  demo::run_scenario([&](std::string_view line) {
    if (!opt.quiet) std::cout << "  " << line << '\n' << std::flush;
  });
  install(nullptr);
  bool flushed = (*sdk)->shutdown();
  SdkStats stats = (*sdk)->stats();
  if (!flushed || stats.processor.export_failures > 0 || stats.processor.dropped > 0) {
    fail(kCommand, "could not write every span to " + redact_location(opt.db), kExitBadInput);
  }
  if (opt.quiet) return;

  StoreOptions read;
  read.read_only = true;
  auto store = Store::open(opt.db, read);
  int64_t total = 0;
  if (store) {
    if (auto all = (*store)->report_total({})) total = all->cost_pico_usd;
  }
  std::string db_arg = opt.db == kDefaultDb ? "" : " --db " + opt.db;
  std::cout << "\n"
            << stats.processor.exported << " spans stored, total cost " << usd(total)
            << "\n\nTry next:\n"
            << "  convtrace report --by user" << db_arg << "\n"
            << "  convtrace report --by model" << db_arg << "\n"
            << "  convtrace report --by workflow-type" << db_arg << "\n"
            << "  convtrace conversations" << db_arg << "\n"
            << "  convtrace conversation support_789" << db_arg << "\n"
            << "  convtrace conversation support_790" << db_arg << "      # turn 2 failed\n"
            << "  convtrace workflows" << db_arg << "\n";
}

}  // namespace

void register_demo(CLI::App& app) {
  auto opt = std::make_shared<DemoOptions>();
  CLI::App* sub = app.add_subcommand("demo", "Record a simulated LLM application into the store");
  sub->description(
      "Runs a simulated support application in this process through the convtrace SDK and\n"
      "stores its spans: three users, four conversations over seven turns, RAG and agent\n"
      "workflows with tool calls, one failing model call, seven models with cached and\n"
      "reasoning tokens. Every model answer is a recorded provider response compiled into\n"
      "the program: no network, no API keys, the same tokens and cost on every run.\n\n"
      "EXAMPLES\n"
      "  convtrace demo && convtrace report --by user\n"
      "  convtrace demo --db /tmp/demo.db --fresh");
  add_db_option(*sub, opt->db);
  sub->add_flag("--fresh", opt->fresh, "Delete the store file first (SQLite only)");
  sub->add_flag("-q,--quiet", opt->quiet, "Print nothing on success");
  sub->footer("EXIT STATUS\n  0 success, 2 the store already holds spans or cannot be written");
  sub->callback([opt] { run(*opt); });
}

}  // namespace convtrace::cli
