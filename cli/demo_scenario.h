// The simulated application behind `convtrace demo`: several users, multi-turn
// conversations, RAG and agent workflows with tool calls and one failing call,
// answered from recorded provider responses compiled into the binary. It runs
// through the installed SDK like any application would. Content is fixed
// (conversation, user and workflow ids, prompts, responses), so the stored
// tokens and costs are the same on every run.
#pragma once

#include <functional>
#include <string_view>

namespace convtrace::demo {

// Runs the whole scenario on the calling thread (and a worker thread for the
// agent's parallel tool calls). `progress` receives one line per step.
void run_scenario(const std::function<void(std::string_view line)>& progress);

// The recorded response body `name` (a file name under
// tests/fixtures/provider-responses); empty when not compiled in.
std::string_view recorded_response(std::string_view name);

}  // namespace convtrace::demo
