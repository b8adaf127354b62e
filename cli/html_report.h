// `convtrace report --html FILE`: the web UI's pages as one self-contained
// file — the UI's script and styles inline, the API's answers for the range
// embedded as JSON — that opens from disk with no server and no network.
#pragma once

#include <string>

#include "convtrace/store.h"
#include "ui_api.h"

namespace convtrace::cli {

struct HtmlReportRange {
  std::string since, until;  // as given to --since/--until; empty: open
};

// The page; errors of the store as Error values.
Expected<std::string> html_report(const Store& store, const HtmlReportRange& range);

// `text` with '<', '>' and '&' as \u003c, \u003e, \u0026: JSON that cannot end
// the <script> element it sits in.
std::string json_for_script(const std::string& text);

// "path?a=1&b=x%20y": parameters sorted by name, empty ones left out, values
// encoded as JavaScript's encodeURIComponent does (the UI's request keys).
std::string request_key(const std::string& path, const ApiParams& params);

}  // namespace convtrace::cli
