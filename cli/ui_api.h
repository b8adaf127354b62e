// The JSON API of `convtrace ui` (and the data of `report --html`): each
// endpoint answers from the store's query functions and prints the records of
// records.h, so every number equals what the CLI's --json prints.
//
// Endpoints (GET, parameters in the query string; times as the CLI's
// --since/--until take them, YYYY-MM-DD or RFC 3339):
//   /api/overview        since, until
//   /api/conversations   since, until, user, min_cost (USD), errors=1, q (text in
//                        captured content), sort (KEY[:asc|:desc]), limit, offset
//   /api/conversation    id
//   /api/trace           id (32 hex digits): every span with its attributes
//   /api/workflows       since, until: the types, with p50/p95 cost per run
//   /api/workflow_runs   type, since, until, sort, limit, offset
//   /api/workflow_run    id: the run's step tree with each step's cost share
//   /api/users           since, until
//   /api/models          since, until
//   /api/live            the number of spans stored (poll it for new spans)
// Answers are JSON objects; errors are {"error": "..."} with status 400 (bad
// parameter), 404 (unknown endpoint or thing) or 500 (store failure).
#pragma once

#include <map>
#include <string>

#include "convtrace/store.h"

namespace convtrace::cli {

using ApiParams = std::multimap<std::string, std::string>;

struct ApiReply {
  int status = 200;
  std::string body;  // JSON
};

// Answers GET `path` (e.g. "/api/overview") with `params` from `store`.
ApiReply answer_api(const Store& store, const std::string& path, const ApiParams& params);

}  // namespace convtrace::cli
