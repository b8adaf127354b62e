// Helpers shared by the subcommands that read or write the store.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commands.h"
#include "convtrace/store.h"

namespace convtrace::cli {

inline constexpr const char* kDefaultDb = "./convtrace.db";

enum class Format { table, json, csv };

struct OutputOptions {
  bool json = false;
  bool csv = false;
  Format format() const { return json ? Format::json : csv ? Format::csv : Format::table; }
};

// Adds --db PATH (default ./convtrace.db).
void add_db_option(CLI::App& sub, std::string& path);
// Adds --json and --csv (mutually exclusive).
void add_format_options(CLI::App& sub, OutputOptions& out);

// Opens an existing store for reading; a missing file fails with kExitUnknown,
// an unreadable or foreign one with kExitBadInput.
std::unique_ptr<Store> open_store_for_reading(std::string_view command, const std::string& path);

// "2024-03-01" (midnight UTC) or RFC 3339 ("2024-03-01T12:00:00Z",
// "2024-03-01T12:00:00.5+02:00") → Unix nanoseconds, failing the command
// (kExitBadInput) when malformed or outside the times the store holds
// (common/unix_time.h: 1970-01-01 to 2262-04-11T23:47:16.854775807Z).
uint64_t parse_time_or_fail(std::string_view command, std::string_view option,
                            std::string_view text);

// "0.25", "3", "0.000001" USD → pico-USD, exactly (at most 12 decimals).
std::optional<int64_t> parse_usd(std::string_view text);

// USD text of a pico amount for tables ("$0.0042").
std::string usd(int64_t pico);
// A JSON number with the exact USD value of `pico`.
std::string usd_json(int64_t pico);
// `pico / n`, rounded half away from zero, as a JSON number; null when n == 0.
std::string average_usd_json(int64_t pico, int64_t n);
// UTC "2024-03-01 12:00:00".
std::string format_time(uint64_t unix_nano);
// A CSV field, quoted when it needs to be.
std::string csv_field(std::string_view text);

// A plain aligned text table.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // Columns after the first are right-aligned (numbers) unless listed in `left`.
  void print(std::vector<size_t> left = {}) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace convtrace::cli
