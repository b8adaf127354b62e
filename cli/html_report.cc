#include "html_report.h"

#include <cstdio>

#include "records.h"
#include "ui_assets.h"

namespace convtrace::cli {
namespace {

// How much one file carries: the first rows of each listing, and the pages
// behind the costliest of them (the UI says "not in this report" for others).
constexpr int kListRows = 500;  // = LIST_IN_REPORT in ui/app.js
constexpr int kConversationPages = 200;
constexpr int kRunPages = 200;

std::string encode_uri_component(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        std::string_view("-_.!~*'()").find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Replaces "</script" so that inline code cannot close its element early.
std::string script_text(std::string_view code) {
  std::string out(code);
  for (size_t at = out.find("</script"); at != std::string::npos; at = out.find("</script", at)) {
    out.replace(at, 2, "<\\/");
  }
  return out;
}

}  // namespace

std::string request_key(const std::string& path, const ApiParams& params) {
  std::string query;
  for (const auto& [name, value] : params) {  // a multimap: sorted by name
    if (value.empty()) continue;
    query += (query.empty() ? "?" : "&") + encode_uri_component(name) + "=" +
             encode_uri_component(value);
  }
  return path + query;
}

std::string json_for_script(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else {
      out += c;
    }
  }
  return out;
}

Expected<std::string> html_report(const Store& store, const HtmlReportRange& range) {
  std::string responses;
  Error failure;
  auto add = [&](const std::string& path, ApiParams params) -> std::string {
    ApiReply reply = answer_api(store, path, params);
    if (reply.status == 500 && !failure) failure = Error{Error::io_error, reply.body};
    if (reply.status != 200) return {};
    responses +=
        (responses.empty() ? "" : ",") + json_string(request_key(path, params)) + ":" + reply.body;
    return reply.body;
  };
  ApiParams window;
  if (!range.since.empty()) window.emplace("since", range.since);
  if (!range.until.empty()) window.emplace("until", range.until);
  auto with = [&](ApiParams extra) {
    ApiParams p = window;
    p.insert(extra.begin(), extra.end());
    return p;
  };
  add("/api/overview", window);
  add("/api/users", window);
  add("/api/models", window);
  add("/api/workflows", window);

  // The conversations, and the pages of the costliest: one conversation and its traces.
  ConversationQuery costliest;
  if (range.since.size())
    costliest.filter.since_unix_nano = parse_time_or_fail("report", "--since", range.since);
  if (range.until.size())
    costliest.filter.until_unix_nano = parse_time_or_fail("report", "--until", range.until);
  add("/api/conversations", with({{"limit", std::to_string(kListRows)}}));
  costliest.sort = ConversationSort::cost;
  costliest.page.limit = kConversationPages;
  std::vector<std::string> ids;
  if (Error e = store.conversations(costliest, [&](const ConversationSummary& c) {
        ids.push_back(c.conversation_id);
        return true;
      })) {
    return e;
  }
  for (const std::string& id : ids) {
    auto view = store.conversation(id);
    if (!view) continue;
    add("/api/conversation", {{"id", id}});
    for (const TurnView& t : view->turns) {
      for (const std::string& trace : t.trace_ids) add("/api/trace", {{"id", trace}});
    }
  }

  // Each workflow type's runs, and the step trees of the costliest runs.
  WorkflowQuery types_query;
  types_query.filter = costliest.filter;
  std::vector<std::string> types;
  if (Error e = store.report(ReportQuery{ReportGroup::workflow_type, costliest.filter},
                             [&](const ReportRow& r) {
                               if (r.group) types.push_back(*r.group);
                               return true;
                             })) {
    return e;
  }
  for (const std::string& type : types) {
    add("/api/workflow_runs", with({{"type", type}, {"limit", std::to_string(kListRows)}}));
  }
  types_query.page.limit = kRunPages;
  std::vector<std::pair<std::string, std::string>> runs;
  if (Error e = store.workflows(types_query, [&](const WorkflowRun& r) {
        runs.emplace_back(r.workflow_id, r.trace_id);
        return true;
      })) {
    return e;
  }
  for (const auto& [id, trace] : runs) add("/api/workflow_run", {{"id", id}, {"trace", trace}});
  if (failure) return failure;

  std::string written = format_rfc3339(wall_clock_unix_nano());
  std::string data =
      "{\"range\":{\"since\":" +
      (range.since.empty() ? std::string("null") : json_string(range.since)) +
      ",\"until\":" + (range.until.empty() ? std::string("null") : json_string(range.until)) +
      "},\"written\":" + json_string(written) + ",\"responses\":{" + responses + "}}";

  std::string html =
      "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      // Nothing may leave the file: no fetch, no image, no font, no frame.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src "
      "'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>convtrace report</title>\n<link rel=\"icon\" href=\"data:,\">\n<style>\n";
  html += script_text(ui_asset("/uplot.css").content);
  html += "\n";
  html += script_text(ui_asset("/app.css").content);
  html +=
      "\n</style>\n</head>\n<body>\n<header id=\"top\">\n  <strong "
      "class=\"brand\">convtrace</strong>\n  <nav id=\"nav\"></nav>\n  <span id=\"range\"></span>\n"
      "  <span id=\"live\" class=\"muted\"></span>\n</header>\n<main id=\"main\"><p "
      "class=\"muted\">Loading…</p></main>\n<script type=\"application/json\" "
      "id=\"convtrace-data\">";
  html += json_for_script(data);
  html += "</script>\n<script>\n";
  html += script_text(ui_asset("/uplot.js").content);
  html += "\n</script>\n<script>\n";
  html += script_text(ui_asset("/app.js").content);
  html += "\n</script>\n</body>\n</html>\n";
  return html;
}

}  // namespace convtrace::cli
