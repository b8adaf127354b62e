// The convtrace CLI's subcommands and the helpers they share.
//
// Each subcommand lives in its own cmd_<name>.cc with one register_<name>
// function that adds it to the app; main.cc calls them all. A subcommand's
// callback reports a non-zero exit status by throwing CLI::RuntimeError(code),
// which CLI11 passes through silently.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>

#include "convtrace/pricing.h"

namespace convtrace::cli {

// Exit statuses, the same for every subcommand.
enum ExitStatus : int {
  kExitOk = 0,
  kExitUnknown = 1,   // the thing asked about is not known (e.g. an unknown model)
  kExitBadInput = 2,  // malformed input, unreadable file, or a usage error
};

void register_usage(CLI::App& app);
void register_price(CLI::App& app);
void register_demo(CLI::App& app);
void register_report(CLI::App& app);
void register_conversation(CLI::App& app);
void register_conversations(CLI::App& app);
void register_workflows(CLI::App& app);
void register_collect(CLI::App& app);
void register_prune(CLI::App& app);

// Fails the current subcommand: prints "convtrace <command>: <message>" on
// stderr and exits with `status`.
[[noreturn]] void fail(std::string_view command, const std::string& message, int status);

// The catalog the CLI prices with: built-in, with `file` merged over it, or,
// when `file` is empty, the file named by CONVTRACE_PRICING_FILE. A bad
// explicit file fails the command; a bad environment file only warns.
Pricing load_pricing(std::string_view command, const std::string& file);

// Adds the shared `--pricing FILE` option.
void add_pricing_option(CLI::App& sub, std::string& file);

// `text` as a JSON string literal, quotes included.
std::string json_string(std::string_view text);

// A micro-USD-per-1M price as exact decimal USD per 1M ("2.5", "0.0028").
std::string usd_per_million_text(int64_t micro);

}  // namespace convtrace::cli
