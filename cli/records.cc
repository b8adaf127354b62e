#include "records.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <variant>

#include "commands.h"
#include "convtrace/pricing.h"
#include "store_common.h"

namespace convtrace::cli {

Record& Record::add(std::string_view name, std::string json, std::string csv) {
  fields_.push_back(Field{std::string(name), std::move(json), std::move(csv)});
  return *this;
}

Record& Record::text(std::string_view name, std::string_view value) {
  return add(name, json_string(value), csv_field(value));
}

Record& Record::text_or_null(std::string_view name, std::string_view value) {
  return value.empty() ? add(name, "null", "") : text(name, value);
}

Record& Record::integer(std::string_view name, int64_t value) {
  std::string v = std::to_string(value);
  return add(name, v, v);
}

Record& Record::integer(std::string_view name, std::optional<int64_t> value) {
  return value ? integer(name, *value) : add(name, "null", "");
}

Record& Record::boolean(std::string_view name, bool value) {
  return add(name, value ? "true" : "false", value ? "true" : "false");
}

Record& Record::money(std::string_view name, std::optional<int64_t> pico) {
  std::string n(name);
  if (!pico)
    return add(n + "_pico_usd", "null", "")
        .add(n + "_usd", "null", "")
        .add(n + "_usd_exact", "null", "");
  std::string usd_text = pico_to_usd_string(*pico);
  return integer(n + "_pico_usd", *pico)
      .add(n + "_usd", usd_text, usd_text)
      .add(n + "_usd_exact", json_string(usd_text), usd_text);
}

Record& Record::average_money(std::string_view name, int64_t pico, int64_t n) {
  std::string avg = average_usd_json(pico, n);
  std::string key(name);
  if (avg == "null") return add(key + "_usd", "null", "").add(key + "_usd_exact", "null", "");
  return add(key + "_usd", avg, avg).add(key + "_usd_exact", json_string(avg), avg);
}

Record& Record::time(std::string_view name, uint64_t unix_nano) {
  std::string n(name);
  std::string rfc = rfc3339_nano(unix_nano);
  return add(n + "_unix_nano", std::to_string(unix_nano), std::to_string(unix_nano))
      .add(n + "_time", json_string(rfc), rfc);
}

Record& Record::raw_json(std::string_view name, std::string json) {
  std::string csv = csv_field(json);
  return add(name, std::move(json), std::move(csv));
}

Record& Record::append(const Record& other) {
  fields_.insert(fields_.end(), other.fields_.begin(), other.fields_.end());
  return *this;
}

std::string Record::json() const {
  std::string out = "{";
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (i) out += ',';
    out += json_string(fields_[i].name);
    out += ':';
    out += fields_[i].json;
  }
  return out + "}";
}

std::string Record::csv_header() const {
  std::string out;
  for (size_t i = 0; i < fields_.size(); ++i) out += (i ? "," : "") + fields_[i].name;
  return out;
}

std::string Record::csv_row() const {
  std::string out;
  for (size_t i = 0; i < fields_.size(); ++i) out += (i ? "," : "") + fields_[i].csv;
  return out;
}

RecordPrinter::RecordPrinter(Format format, const Record& shape) : format_(format) {
  if (format_ == Format::json) std::cout << '[';
  if (format_ == Format::csv) std::cout << shape.csv_header() << '\n';
}

void RecordPrinter::print(const Record& record) {
  if (format_ == Format::json) std::cout << (count_ ? "," : "") << record.json();
  if (format_ == Format::csv) std::cout << record.csv_row() << '\n';
  ++count_;
}

void RecordPrinter::finish() {
  if (format_ == Format::json) std::cout << "]\n";
}

std::string rfc3339_nano(uint64_t unix_nano) {
  std::time_t t = static_cast<std::time_t>(unix_nano / 1000000000ULL);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[48];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%09lluZ",
                static_cast<unsigned long long>(unix_nano % 1000000000ULL));
  return buf;
}

namespace {

void add_report_sums(Record& r, const ReportRow& row) {
  r.money("cost", row.cost_pico_usd)
      .integer("llm_calls", row.llm_calls)
      .integer("unpriced_calls", row.unpriced_calls)
      .integer("input_tokens", row.input_tokens)
      .integer("output_tokens", row.output_tokens)
      .integer("cache_read_tokens", row.cache_read_tokens)
      .integer("cache_write_tokens", row.cache_write_tokens)
      .integer("reasoning_tokens", row.reasoning_tokens)
      .integer("conversations", row.conversations)
      .integer("workflow_runs", row.workflow_runs)
      .integer("errors", row.errors)
      .integer("spans", row.spans);
}

std::string json_double(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Integers beyond 2^53 as strings: JavaScript would round them.
std::string json_int(int64_t v) {
  constexpr int64_t kExact = int64_t{1} << 53;
  std::string digits = std::to_string(v);
  return v > kExact || v < -kExact ? "\"" + digits + "\"" : digits;
}

template <typename T, typename F>
std::string json_array(const std::vector<T>& items, F one) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += one(items[i]);
  }
  return out + "]";
}

std::string status_text(StatusCode status) {
  return status == StatusCode::error ? "error" : status == StatusCode::ok ? "ok" : "unset";
}

}  // namespace

std::string attribute_value_json(const AttributeValue& value) {
  struct Visit {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t i) const { return json_int(i); }
    std::string operator()(double d) const { return json_double(d); }
    std::string operator()(const std::string& s) const { return json_string(s); }
    std::string operator()(const std::vector<bool>& v) const {
      return json_array(v, [](bool b) { return std::string(b ? "true" : "false"); });
    }
    std::string operator()(const std::vector<int64_t>& v) const { return json_array(v, json_int); }
    std::string operator()(const std::vector<double>& v) const {
      return json_array(v, json_double);
    }
    std::string operator()(const std::vector<std::string>& v) const {
      return json_array(v, [](const std::string& s) { return json_string(s); });
    }
  };
  return std::visit(Visit{}, value);
}

std::string attributes_json(const std::vector<Attribute>& attributes) {
  return json_array(attributes, [](const Attribute& a) {
    return "{\"key\":" + json_string(a.key) + ",\"value\":" + attribute_value_json(a.value) + "}";
  });
}

std::string events_json(const std::vector<SpanEvent>& events) {
  return json_array(events, [](const SpanEvent& e) {
    Record r;
    r.text("name", e.name)
        .time("time", e.time_unix_nano)
        .raw_json("attributes", attributes_json(e.attributes));
    return r.json();
  });
}

Record report_record(const ReportRow& row, std::string_view group_name) {
  Record r;
  if (row.group) {
    r.text(group_name, *row.group);
  } else {
    r.text_or_null(group_name, "");
  }
  add_report_sums(r, row);
  r.average_money("avg_cost_per_conversation", row.cost_pico_usd, row.conversations);
  r.average_money("avg_cost_per_run", row.cost_pico_usd, row.workflow_runs);
  r.integer("cost_disagreements", row.cost_disagreements);
  return r;
}

Record workflow_type_record(const ReportRow& row) {
  Record r;
  r.text("workflow_type", row.group.value_or(""))
      .integer("runs", row.workflow_runs)
      .money("cost", row.cost_pico_usd)
      .average_money("avg_cost_per_run", row.cost_pico_usd, row.workflow_runs)
      .integer("llm_calls", row.llm_calls)
      .integer("input_tokens", row.input_tokens)
      .integer("output_tokens", row.output_tokens)
      .integer("conversations", row.conversations)
      .integer("errors", row.errors);
  return r;
}

Record conversation_summary_record(const ConversationSummary& c) {
  Record r;
  r.text("conversation_id", c.conversation_id)
      .text_or_null("user_id", c.user_id)
      .time("first_seen", c.first_seen_unix_nano)
      .time("last_seen", c.last_seen_unix_nano)
      .integer("duration_nano",
               static_cast<int64_t>(c.last_seen_unix_nano - c.first_seen_unix_nano))
      .integer("turns", c.turns)
      .integer("spans", c.spans)
      .integer("llm_calls", c.llm_calls)
      .integer("unpriced_calls", c.unpriced_calls)
      .money("cost", c.cost_pico_usd)
      .integer("input_tokens", c.input_tokens)
      .integer("output_tokens", c.output_tokens)
      .integer("cache_read_tokens", c.cache_read_tokens)
      .integer("cache_write_tokens", c.cache_write_tokens)
      .integer("reasoning_tokens", c.reasoning_tokens)
      .integer("errors", c.errors)
      .integer("workflow_runs", c.workflow_runs);
  return r;
}

Record workflow_run_record(const WorkflowRun& w) {
  Record r;
  r.text("workflow_id", w.workflow_id)
      .text("workflow_type", w.workflow_type)
      .text_or_null("conversation_id", w.conversation_id)
      .text_or_null("user_id", w.user_id)
      .text("trace_id", w.trace_id)
      .time("start", w.start_unix_nano)
      .time("end", w.end_unix_nano)
      .money("cost", w.cost_pico_usd)
      .boolean("cost_from_workflow_span", w.cost_from_workflow_span)
      .integer("llm_calls", w.llm_calls)
      .integer("input_tokens", w.input_tokens)
      .integer("output_tokens", w.output_tokens)
      .integer("errors", w.errors)
      .text_or_null("costliest_step", w.costliest_step)
      .money("costliest_step_cost", w.costliest_step_cost_pico_usd);
  return r;
}

Record span_record(const SpanView& s, const TurnView& turn) {
  Record r;
  r.text("trace_id", s.trace_id)
      .text("span_id", s.span_id)
      .text("parent_span_id", s.parent_span_id)
      .integer("depth", s.depth)
      .text("name", s.name)
      .text("kind", s.kind)
      .text("model", s.model)
      .text("provider", s.provider)
      .time("start", s.start_unix_nano)
      .time("end", s.end_unix_nano)
      .integer("start_offset_nano", static_cast<int64_t>(s.start_unix_nano - turn.start_unix_nano))
      .integer("duration_nano", static_cast<int64_t>(s.end_unix_nano - s.start_unix_nano))
      .integer("input_tokens", s.input_tokens)
      .integer("output_tokens", s.output_tokens)
      .integer("cache_read_tokens", s.cache_read_tokens)
      .integer("cache_write_tokens", s.cache_write_tokens)
      .integer("reasoning_tokens", s.reasoning_tokens)
      .money("cost", s.cost_pico_usd)
      .text("status", status_text(s.status))
      .text_or_null("error", s.error)
      .text_or_null("error_message", s.error_message)
      .raw_json("events", events_json(s.events))
      .text_or_null("input_messages", s.input_messages.value_or(""))
      .text_or_null("output_messages", s.output_messages.value_or(""));
  return r;
}

std::string_view turn_outcome(const TurnView& t) {
  if (t.errors == 0) return "ok";
  for (const SpanView& s : t.spans) {
    if (s.depth == 0 && s.status == StatusCode::error) return "failed";
  }
  return "recovered";
}

Record turn_record(const TurnView& t) {
  std::string traces = "[";
  for (size_t i = 0; i < t.trace_ids.size(); ++i)
    traces += (i ? "," : "") + json_string(t.trace_ids[i]);
  traces += "]";
  Record r;
  r.integer("turn", t.turn)
      .text("outcome", turn_outcome(t))
      .raw_json("trace_ids", traces)
      .time("start", t.start_unix_nano)
      .time("end", t.end_unix_nano)
      .integer("duration_nano", static_cast<int64_t>(t.end_unix_nano - t.start_unix_nano))
      .money("cost", t.cost_pico_usd)
      .money("running_total", t.running_total_pico_usd)
      .integer("input_tokens", t.input_tokens)
      .integer("output_tokens", t.output_tokens)
      .integer("llm_calls", t.llm_calls)
      .integer("errors", t.errors);
  return r;
}

std::string conversation_json(const ConversationView& v) {
  std::string users = "[";
  for (size_t i = 0; i < v.user_ids.size(); ++i)
    users += (i ? "," : "") + json_string(v.user_ids[i]);
  users += "]";
  std::string turns = "[";
  for (size_t t = 0; t < v.turns.size(); ++t) {
    const TurnView& turn = v.turns[t];
    std::string spans = "[";
    for (size_t i = 0; i < turn.spans.size(); ++i) {
      spans += (i ? "," : "") + span_record(turn.spans[i], turn).json();
    }
    spans += "]";
    turns += (t ? "," : "") + turn_record(turn).raw_json("spans", spans).json();
  }
  turns += "]";
  Record r;
  r.text("conversation_id", v.conversation_id)
      .raw_json("user_ids", users)
      .money("cost", v.cost_pico_usd)
      .integer("input_tokens", v.input_tokens)
      .integer("output_tokens", v.output_tokens)
      .integer("llm_calls", v.llm_calls)
      .integer("errors", v.errors)
      .raw_json("turns", turns);
  return r.json();
}

}  // namespace convtrace::cli
