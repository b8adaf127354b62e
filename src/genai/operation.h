// gen_ai.operation.name for each span kind, as the GenAI conventions name them.
#pragma once

#include <string_view>

#include "convtrace/trace.h"

namespace convtrace {

// "chat", "embeddings", "execute_tool", "invoke_agent", "retrieval",
// "invoke_workflow"; empty where the conventions define no operation (chain,
// reranker). Span names are "{operation} {target}": the model of chat and
// embeddings, the tool, the agent, the data source, the workflow.
inline std::string_view operation_for(Kind kind) {
  switch (kind) {
    case Kind::llm:
      return "chat";
    case Kind::embedding:
      return "embeddings";
    case Kind::tool:
      return "execute_tool";
    case Kind::agent:
      return "invoke_agent";
    case Kind::retriever:
      return "retrieval";
    case Kind::workflow:
      return "invoke_workflow";
    default:
      return {};
  }
}

// The span kind of a span that another instrumentation named by its
// gen_ai.operation.name; Kind::none for an operation without one.
inline Kind kind_for_operation(std::string_view operation) {
  if (operation == "chat" || operation == "text_completion" || operation == "generate_content") {
    return Kind::llm;
  }
  if (operation == "embeddings") return Kind::embedding;
  if (operation == "execute_tool") return Kind::tool;
  if (operation == "invoke_agent" || operation == "create_agent") return Kind::agent;
  if (operation == "invoke_workflow") return Kind::workflow;
  if (operation == "retrieval") return Kind::retriever;
  return Kind::none;
}

}  // namespace convtrace
