// Every attribute key convtrace reads or writes, in one place.
//
// Keys from the OpenTelemetry GenAI semantic conventions come first, then the
// extension keys shared with other conversation-aware SDKs, then convtrace's own.
// Code elsewhere must use these constants; a key is never spelled twice.
#pragma once

#include <string_view>

namespace convtrace::attr {

// --- OpenTelemetry GenAI semantic conventions ---------------------------------
inline constexpr std::string_view kOperationName = "gen_ai.operation.name";
inline constexpr std::string_view kProviderName = "gen_ai.provider.name";
inline constexpr std::string_view kRequestModel = "gen_ai.request.model";
inline constexpr std::string_view kResponseModel = "gen_ai.response.model";
inline constexpr std::string_view kResponseId = "gen_ai.response.id";
inline constexpr std::string_view kResponseFinishReasons = "gen_ai.response.finish_reasons";
inline constexpr std::string_view kInputTokens = "gen_ai.usage.input_tokens";
inline constexpr std::string_view kOutputTokens = "gen_ai.usage.output_tokens";
inline constexpr std::string_view kCacheReadInputTokens = "gen_ai.usage.cache_read.input_tokens";
inline constexpr std::string_view kCacheCreationInputTokens =
    "gen_ai.usage.cache_creation.input_tokens";
inline constexpr std::string_view kReasoningOutputTokens = "gen_ai.usage.reasoning.output_tokens";
inline constexpr std::string_view kConversationId = "gen_ai.conversation.id";
inline constexpr std::string_view kInputMessages = "gen_ai.input.messages";
inline constexpr std::string_view kOutputMessages = "gen_ai.output.messages";
inline constexpr std::string_view kToolName = "gen_ai.tool.name";
inline constexpr std::string_view kTimeToFirstChunk = "gen_ai.response.time_to_first_chunk";
inline constexpr std::string_view kErrorType = "error.type";
inline constexpr std::string_view kServerAddress = "server.address";
inline constexpr std::string_view kServerPort = "server.port";
inline constexpr std::string_view kTokenType = "gen_ai.token.type";  // metrics: input | output

// --- Extension keys (conversation-aware SDK compatibility) ---------------------
inline constexpr std::string_view kConversationTurn = "gen_ai.conversation.turn";
inline constexpr std::string_view kCostUsd = "gen_ai.usage.cost_usd";
inline constexpr std::string_view kUserId = "user.id";
inline constexpr std::string_view kWorkflowId = "workflow.id";
inline constexpr std::string_view kWorkflowType = "workflow.type";
inline constexpr std::string_view kWorkflowTotalCostUsd = "workflow.total_cost_usd";
inline constexpr std::string_view kWorkflowLlmCalls = "workflow.llm_calls";
inline constexpr std::string_view kWorkflowToolCalls = "workflow.tool_calls";
inline constexpr std::string_view kSpanKind = "gen_ai.l9.span.kind";

// --- Cost keys read by other backends (Langfuse, OpenLIT) ----------------------
inline constexpr std::string_view kCostGeneric = "gen_ai.usage.cost";

// --- convtrace's own keys --------------------------------------------------------
inline constexpr std::string_view kConversationTotalCostUsd = "gen_ai.conversation.total_cost_usd";
inline constexpr std::string_view kInputCostUsd = "gen_ai.usage.input_cost_usd";
inline constexpr std::string_view kOutputCostUsd = "gen_ai.usage.output_cost_usd";
inline constexpr std::string_view kCostPicoUsd = "convtrace.cost_pico_usd";
inline constexpr std::string_view kPricedAs = "convtrace.priced_as";
inline constexpr std::string_view kUnpricedModel = "convtrace.cost.unknown_model";
inline constexpr std::string_view kWorkflowInputTokens = "workflow.total_input_tokens";
inline constexpr std::string_view kWorkflowOutputTokens = "workflow.total_output_tokens";
inline constexpr std::string_view kWorkflowTotalCostPico = "workflow.total_cost_pico_usd";
inline constexpr std::string_view kStreamNoUsage = "convtrace.stream.usage_missing";

// --- Standard OpenTelemetry keys -----------------------------------------------------
inline constexpr std::string_view kServiceName = "service.name";
inline constexpr std::string_view kSdkName = "telemetry.sdk.name";
inline constexpr std::string_view kSdkLanguage = "telemetry.sdk.language";
inline constexpr std::string_view kSdkVersion = "telemetry.sdk.version";
inline constexpr std::string_view kExceptionType = "exception.type";
inline constexpr std::string_view kExceptionMessage = "exception.message";
inline constexpr std::string_view kExceptionEventName = "exception";
// The attribute of the metrics data point that aggregates what a cardinality
// limit left out (OpenTelemetry metrics SDK specification).
inline constexpr std::string_view kMetricOverflow = "otel.metric.overflow";

}  // namespace convtrace::attr

// W3C baggage keys that carry a conversation to other processes (propagation.h).
// They are the span attribute keys themselves, so any service — whatever its
// SDK — can read them under the names it already stamps on spans.
namespace convtrace::baggage {
inline constexpr std::string_view kConversationId = attr::kConversationId;
inline constexpr std::string_view kUserId = attr::kUserId;
inline constexpr std::string_view kConversationTurn = attr::kConversationTurn;
inline constexpr std::string_view kWorkflowId = attr::kWorkflowId;
inline constexpr std::string_view kWorkflowType = attr::kWorkflowType;
// Property marking an entry as a custom conversation attribute
// (ConversationOptions::propagate); its value names the type: int, double or
// bool (string when absent).
inline constexpr std::string_view kAttributeProperty = "convtrace.attr";
}  // namespace convtrace::baggage
