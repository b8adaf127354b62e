// The rows the CLI prints with --json and --csv, and the UI's JSON API serves.
//
// Each view (a report group, a conversation summary, a workflow run, a span of
// a conversation) becomes one Record: named fields in a fixed order. --json
// prints a record as an object and --csv as a row under the same names, so
// the two always carry the same columns, and the web UI reads the very same
// objects (one code path for every number).
//
// Exact in every consumer: JSON numbers beyond 2^53 lose digits in JavaScript
// and jq, so money is given three ways — `<name>_pico_usd` (integer),
// `<name>_usd` (a number, for sums in jq) and `<name>_usd_exact` (the exact
// decimal string) — and every time as `<name>_unix_nano` (integer) next to
// `<name>_time` (RFC 3339 UTC with nanoseconds, exact).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convtrace/store.h"
#include "store_common.h"

namespace convtrace::cli {

class Record {
 public:
  Record& text(std::string_view name, std::string_view value);
  // An empty value is null (JSON) and an empty field (CSV).
  Record& text_or_null(std::string_view name, std::string_view value);
  Record& integer(std::string_view name, int64_t value);
  Record& integer(std::string_view name, std::optional<int64_t> value);
  Record& boolean(std::string_view name, bool value);
  // <name>_pico_usd, <name>_usd, <name>_usd_exact; nullopt: all three null.
  Record& money(std::string_view name, std::optional<int64_t> pico);
  // <name>_usd and <name>_usd_exact of pico / n rounded half away from zero;
  // null when n == 0.
  Record& average_money(std::string_view name, int64_t pico, int64_t n);
  // <name>_unix_nano and <name>_time.
  Record& time(std::string_view name, uint64_t unix_nano);
  // A value already in JSON (an array or object); CSV gets the JSON text.
  Record& raw_json(std::string_view name, std::string json);
  // Adds every field of `other` after these.
  Record& append(const Record& other);

  std::string json() const;
  std::string csv_header() const;
  std::string csv_row() const;

 private:
  struct Field {
    std::string name;
    std::string json;  // the JSON value
    std::string csv;   // the CSV field, already quoted where needed
  };
  Record& add(std::string_view name, std::string json, std::string csv);
  std::vector<Field> fields_;
};

// Prints records to stdout as one JSON array (streamed, one record at a time)
// or as CSV rows under a header row.
class RecordPrinter {
 public:
  // `shape`: a record of the kind to print (any values), for the CSV header.
  RecordPrinter(Format format, const Record& shape);
  void print(const Record& record);
  // Ends the JSON array.
  void finish();
  int64_t count() const { return count_; }

 private:
  Format format_;
  int64_t count_ = 0;
};

// RFC 3339 UTC with nanoseconds: "2024-03-01T12:00:00.000000123Z".
std::string rfc3339_nano(uint64_t unix_nano);

// `group_name` names the grouping column ("user", "model", "workflow_type",
// "conversation", "day"), so the JSON key says what the group is.
Record report_record(const ReportRow& row, std::string_view group_name);
// The per-type summary of `workflows` (report rows by workflow type).
Record workflow_type_record(const ReportRow& row);
Record conversation_summary_record(const ConversationSummary& c);
Record workflow_run_record(const WorkflowRun& r);
// One span of a turn, with its start offset from the turn's start.
Record span_record(const SpanView& s, const TurnView& turn);
// A turn without its spans.
Record turn_record(const TurnView& t);
// The whole conversation as one JSON object with its turns and their spans.
std::string conversation_json(const ConversationView& v);

// An attribute value as JSON: arrays as arrays; integers beyond 2^53 as
// strings of their digits (exact in JavaScript); non-finite doubles as null.
std::string attribute_value_json(const AttributeValue& value);
// Attributes in recorded order: [{"key":…,"value":…},…] (keys may repeat).
std::string attributes_json(const std::vector<Attribute>& attributes);
// Events in recorded order: [{"name":…,"time_unix_nano":…,"time":…,"attributes":[…]},…].
std::string events_json(const std::vector<SpanEvent>& events);

// "ok", "recovered" (an error inside it, but the turn's top spans ended
// well: a retry or fallback worked) or "failed" (a top span ended in error).
std::string_view turn_outcome(const TurnView& t);

}  // namespace convtrace::cli
