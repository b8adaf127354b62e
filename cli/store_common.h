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

// Adds --db PATH|URI (default ./convtrace.db; a postgresql:// URI for PostgreSQL).
void add_db_option(CLI::App& sub, std::string& path);
// Adds --json and --csv (mutually exclusive).
void add_format_options(CLI::App& sub, OutputOptions& out);

// Opens an existing store for reading; a missing one fails with kExitUnknown,
// an unreadable or foreign one (or an unreachable server) with kExitBadInput.
std::unique_ptr<Store> open_store_for_reading(std::string_view command, const std::string& path);

// Rows a table shows unless --limit says otherwise (--json and --csv give
// every row unless told).
inline constexpr int64_t kTableLimit = 50;

// --limit/--top N, --offset N, --sort KEY[:asc|:desc] of a listing.
struct ListingOptions {
  int64_t limit = -1;  // -1: not given
  int64_t offset = 0;
  std::string sort;
};
// Adds the listing options; `keys` lists the sort keys for --help.
void add_listing_options(CLI::App& sub, ListingOptions& opt, const std::string& keys);
// The rows to ask the store for: one more than will be shown, so that a
// table can say there are more.
Page page_for(const ListingOptions& opt, Format format);
// The rows to show of those the store gave for page_for().
int64_t rows_to_show(const ListingOptions& opt, Format format);
// After a table: how to see the rest, when rows were left out.
void print_more_note(const ListingOptions& opt, int64_t shown);

// "cost", "cost:asc", "cost:desc" → the key and, when given, whether descending.
struct SortSpec {
  std::string key;
  std::optional<bool> descending;
};
SortSpec parse_sort(std::string_view command, const std::string& text);

// Sets query.sort and query.descending from --sort, its key read by `parse`
// (e.g. parse_report_sort); a key `parse` refuses fails the command.
template <typename Query, typename Parse>
void apply_sort(std::string_view command, const ListingOptions& opt, Parse parse, Query& query) {
  if (opt.sort.empty()) return;
  SortSpec spec = parse_sort(command, opt.sort);
  auto sort = parse(spec.key);
  if (!sort) fail(command, sort.error().message, kExitBadInput);
  query.sort = *sort;
  query.descending = spec.descending;
}

// "2024-03-01" (midnight UTC) or RFC 3339 ("2024-03-01T12:00:00Z",
// "2024-03-01T12:00:00.5+02:00") → Unix nanoseconds, failing the command
// (kExitBadInput) when malformed or outside the times the store holds
// (common/unix_time.h: 1970-01-01 to 2262-04-11T23:47:16.854775807Z).
uint64_t parse_time_or_fail(std::string_view command, std::string_view option,
                            std::string_view text);

// "30d" or "30" → 30 (days, 1..36500); nullopt when malformed.
std::optional<int64_t> parse_days(std::string_view text);
// The UTC midnight `days` whole days before today's: what `--keep Nd` keeps
// from (today and the N days before it).
uint64_t keep_days_cutoff(int64_t days);
// RFC 3339 UTC "2024-03-01T12:00:00Z".
std::string format_rfc3339(uint64_t unix_nano);

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
