#include "store_common.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "common/unix_time.h"
#include "common/utf8.h"

namespace convtrace::cli {

void add_db_option(CLI::App& sub, std::string& path) {
  path = kDefaultDb;
  sub.add_option("--db", path,
                 "The store: an SQLite file (default ./convtrace.db) or a PostgreSQL URI, "
                 "postgresql://USER@HOST/DB (password from PGPASSWORD or ~/.pgpass)");
}

void add_format_options(CLI::App& sub, OutputOptions& out) {
  auto* json = sub.add_flag("--json", out.json, "Print JSON instead of a table.");
  auto* csv = sub.add_flag("--csv", out.csv, "Print CSV (with a header row) instead of a table.");
  json->excludes(csv);
}

std::unique_ptr<Store> open_store_for_reading(std::string_view command, const std::string& path) {
  StoreOptions options;
  options.read_only = true;
  options.migrate_older = true;  // a store from an earlier release stays readable
  auto store = Store::open(path, options);
  if (!store && store.error().code == Error::not_found) {
    fail(command,
         "no store at " + redact_location(path) +
             " (run 'convtrace demo' or 'convtrace collect', or pass --db)",
         kExitUnknown);
  }
  if (!store) fail(command, store.error().message, kExitBadInput);
  return std::move(*store);
}

void add_listing_options(CLI::App& sub, ListingOptions& opt, const std::string& keys) {
  sub.add_option("--limit,--top", opt.limit,
                 "Show at most N rows; 0 for all (default: " + std::to_string(kTableLimit) +
                     " in a table, all with --json or --csv)")
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--offset", opt.offset, "Skip the first N rows (the next page)")
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--sort", opt.sort, "Order by KEY[:asc|:desc]: " + keys);
}

Page page_for(const ListingOptions& opt, Format format) {
  int64_t show = rows_to_show(opt, format);
  return Page{show > 0 ? show + 1 : 0, opt.offset};
}

int64_t rows_to_show(const ListingOptions& opt, Format format) {
  if (opt.limit >= 0) return opt.limit;
  return format == Format::table ? kTableLimit : 0;
}

void print_more_note(const ListingOptions& opt, int64_t shown) {
  std::cout << "... more rows: --offset " << opt.offset + shown
            << " for the next page, --limit 0 for all\n";
}

SortSpec parse_sort(std::string_view command, const std::string& text) {
  SortSpec spec;
  size_t colon = text.find(':');
  spec.key = text.substr(0, colon);
  if (colon != std::string::npos) {
    std::string dir = text.substr(colon + 1);
    if (dir == "asc") {
      spec.descending = false;
    } else if (dir == "desc") {
      spec.descending = true;
    } else {
      fail(command, "--sort '" + text + "': the direction is asc or desc", kExitBadInput);
    }
  }
  return spec;
}

uint64_t parse_time_or_fail(std::string_view command, std::string_view option,
                            std::string_view text) {
  auto t = unix_time::parse(text);
  if (!t) {
    fail(command, std::string(option) + " '" + utf8::repaired(text) + "' " + t.error().message,
         kExitBadInput);
  }
  return *t;
}

std::optional<int64_t> parse_usd(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t whole = 0, frac = 0;
  size_t i = 0, frac_digits = 0;
  bool any = false;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (whole > 1'000'000) return std::nullopt;
    whole = whole * 10 + (s[i] - '0');
    any = true;
  }
  if (i < s.size() && s[i] == '.') {
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (++frac_digits > 12) return std::nullopt;
      frac = frac * 10 + (s[i] - '0');
      any = true;
    }
  }
  if (!any || i != s.size()) return std::nullopt;
  for (size_t k = frac_digits; k < 12; ++k) frac *= 10;
  return whole * 1'000'000'000'000LL + frac;
}

std::optional<int64_t> parse_days(std::string_view text) {
  if (!text.empty() && text.back() == 'd') text.remove_suffix(1);
  if (text.empty() || text.size() > 5) return std::nullopt;
  int64_t days = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    days = days * 10 + (c - '0');
  }
  if (days < 1 || days > 36500) return std::nullopt;
  return days;
}

uint64_t keep_days_cutoff(int64_t days) {
  constexpr uint64_t kDay = 86400ULL * 1000000000ULL;
  auto now = std::chrono::system_clock::now().time_since_epoch();
  uint64_t today =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()) /
      kDay * kDay;
  uint64_t back = static_cast<uint64_t>(days) * kDay;
  return today > back ? today - back : 0;
}

std::string format_rfc3339(uint64_t unix_nano) {
  std::string t = format_time(unix_nano);
  t[10] = 'T';
  return t + "Z";
}

std::string usd(int64_t pico) { return "$" + pico_to_usd_string(pico); }

std::string usd_json(int64_t pico) { return pico_to_usd_string(pico); }

std::string average_usd_json(int64_t pico, int64_t n) {
  if (n <= 0) return "null";
  int64_t q = pico / n, r = pico % n;
  if (2 * (r < 0 ? -r : r) >= n) q += pico < 0 ? -1 : 1;
  return pico_to_usd_string(q);
}

std::string format_time(uint64_t unix_nano) {
  std::time_t t = static_cast<std::time_t>(unix_nano / 1000000000ULL);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string csv_field(std::string_view raw) {
  // Text in the store is valid UTF-8; a file an earlier release wrote may hold other bytes.
  const std::string text = utf8::repaired(raw);
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

void Table::print(std::vector<size_t> left) const {
  std::vector<size_t> width;
  for (const auto& row : rows_) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (const auto& row : rows_) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      bool align_left = c == 0 || std::find(left.begin(), left.end(), c) != left.end();
      std::string pad(width[c] - row[c].size(), ' ');
      if (c) line += "  ";
      line += align_left ? row[c] + pad : pad + row[c];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << '\n';
  }
}

}  // namespace convtrace::cli
