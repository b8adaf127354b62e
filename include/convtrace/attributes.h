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
inline constexpr std::string_view kSystemInstructions = "gen_ai.system_instructions";
inline constexpr std::string_view kWorkflowName = "gen_ai.workflow.name";
inline constexpr std::string_view kAgentId = "gen_ai.agent.id";
inline constexpr std::string_view kAgentName = "gen_ai.agent.name";
inline constexpr std::string_view kAgentVersion = "gen_ai.agent.version";
inline constexpr std::string_view kAgentDescription = "gen_ai.agent.description";
inline constexpr std::string_view kToolCallId = "gen_ai.tool.call.id";
inline constexpr std::string_view kToolType = "gen_ai.tool.type";
inline constexpr std::string_view kToolCallArguments = "gen_ai.tool.call.arguments";
inline constexpr std::string_view kToolCallResult = "gen_ai.tool.call.result";
inline constexpr std::string_view kDataSourceId = "gen_ai.data_source.id";
inline constexpr std::string_view kRequestTemperature = "gen_ai.request.temperature";
inline constexpr std::string_view kRequestMaxTokens = "gen_ai.request.max_tokens";
inline constexpr std::string_view kRequestTopP = "gen_ai.request.top_p";
inline constexpr std::string_view kRequestTopK = "gen_ai.request.top_k";
inline constexpr std::string_view kRequestSeed = "gen_ai.request.seed";
inline constexpr std::string_view kRequestStream = "gen_ai.request.stream";
inline constexpr std::string_view kRequestStopSequences = "gen_ai.request.stop_sequences";
inline constexpr std::string_view kRequestFrequencyPenalty = "gen_ai.request.frequency_penalty";
inline constexpr std::string_view kRequestPresencePenalty = "gen_ai.request.presence_penalty";
inline constexpr std::string_view kRequestChoiceCount = "gen_ai.request.choice.count";
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
// The parts of a call's cost. Not under gen_ai.usage.*, which the conventions
// keep for token counts (Langfuse reads every whole-number gen_ai.usage.* value
// but gen_ai.usage.cost as a count of tokens).
inline constexpr std::string_view kInputCostUsd = "convtrace.cost.input_usd";
inline constexpr std::string_view kOutputCostUsd = "convtrace.cost.output_usd";
inline constexpr std::string_view kCostPicoUsd = "convtrace.cost_pico_usd";
inline constexpr std::string_view kPricedAs = "convtrace.priced_as";
inline constexpr std::string_view kUnpricedModel = "convtrace.cost.unknown_model";
inline constexpr std::string_view kWorkflowInputTokens = "workflow.total_input_tokens";
inline constexpr std::string_view kWorkflowOutputTokens = "workflow.total_output_tokens";
inline constexpr std::string_view kWorkflowTotalCostPico = "workflow.total_cost_pico_usd";
inline constexpr std::string_view kStreamNoUsage = "convtrace.stream.usage_missing";
// Set on a span whose captured content was cut to ContentCapture::max_length.
inline constexpr std::string_view kContentTruncated = "convtrace.content.truncated";

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

// --- Keys other SDKs write (read by `collect`, see src/dialects) -------------
// Deprecated GenAI convention keys, still sent by many instrumentations.
inline constexpr std::string_view kSystemDeprecated = "gen_ai.system";
inline constexpr std::string_view kPromptTokensDeprecated = "gen_ai.usage.prompt_tokens";
inline constexpr std::string_view kCompletionTokensDeprecated = "gen_ai.usage.completion_tokens";
// OpenLLMetry (Traceloop); the reasoning key is OpenLIT's too.
inline constexpr std::string_view kTraceloopCacheReadTokens =
    "gen_ai.usage.cache_read_input_tokens";
inline constexpr std::string_view kTraceloopCacheCreationTokens =
    "gen_ai.usage.cache_creation_input_tokens";
inline constexpr std::string_view kTraceloopReasoningTokens = "gen_ai.usage.reasoning_tokens";
inline constexpr std::string_view kLlmUsagePromptTokens = "llm.usage.prompt_tokens";
inline constexpr std::string_view kLlmUsageCompletionTokens = "llm.usage.completion_tokens";
inline constexpr std::string_view kLlmUsageTotalTokens = "llm.usage.total_tokens";
inline constexpr std::string_view kTotalTokens =
    "gen_ai.usage.total_tokens";  // OpenLIT, OpenLLMetry
inline constexpr std::string_view kLlmRequestType = "llm.request.type";
inline constexpr std::string_view kTraceloopSpanKind = "traceloop.span.kind";
inline constexpr std::string_view kTraceloopSessionId =
    "traceloop.association.properties.session_id";
inline constexpr std::string_view kTraceloopConversationId =
    "traceloop.association.properties.conversation_id";
inline constexpr std::string_view kTraceloopUserId = "traceloop.association.properties.user_id";
// OpenInference (Arize Phoenix); convtrace's openinference profile writes them too.
inline constexpr std::string_view kOpenInferenceSpanKind = "openinference.span.kind";
inline constexpr std::string_view kOiPromptTokens = "llm.token_count.prompt";
inline constexpr std::string_view kOiCompletionTokens = "llm.token_count.completion";
inline constexpr std::string_view kOiTotalTokens = "llm.token_count.total";
inline constexpr std::string_view kOiCacheReadTokens = "llm.token_count.prompt_details.cache_read";
inline constexpr std::string_view kOiCacheWriteTokens =
    "llm.token_count.prompt_details.cache_write";
inline constexpr std::string_view kOiReasoningTokens =
    "llm.token_count.completion_details.reasoning";
inline constexpr std::string_view kOiModelName = "llm.model_name";
inline constexpr std::string_view kOiEmbeddingModelName = "embedding.model_name";
inline constexpr std::string_view kOiProvider = "llm.provider";
inline constexpr std::string_view kOiSystem = "llm.system";
inline constexpr std::string_view kOiCostTotal = "llm.cost.total";
inline constexpr std::string_view kSessionId = "session.id";
inline constexpr std::string_view kOiInputValue = "input.value";
inline constexpr std::string_view kOiOutputValue = "output.value";
// Langfuse.
inline constexpr std::string_view kLangfuseSessionId = "langfuse.session.id";
inline constexpr std::string_view kLangfuseUserId = "langfuse.user.id";
inline constexpr std::string_view kLangfuseUsageDetails = "langfuse.observation.usage_details";
inline constexpr std::string_view kLangfuseCostDetails = "langfuse.observation.cost_details";
inline constexpr std::string_view kLangfuseModel = "langfuse.observation.model.name";
inline constexpr std::string_view kLangfuseObservationType = "langfuse.observation.type";
// Vercel AI SDK (v4 prompt/completion, v5 input/output names).
inline constexpr std::string_view kAiPromptTokens = "ai.usage.promptTokens";
inline constexpr std::string_view kAiCompletionTokens = "ai.usage.completionTokens";
inline constexpr std::string_view kAiInputTokens = "ai.usage.inputTokens";
inline constexpr std::string_view kAiOutputTokens = "ai.usage.outputTokens";
inline constexpr std::string_view kAiReasoningTokens = "ai.usage.reasoningTokens";
inline constexpr std::string_view kAiCachedInputTokens = "ai.usage.cachedInputTokens";
inline constexpr std::string_view kAiModelId = "ai.model.id";
inline constexpr std::string_view kAiModelProvider = "ai.model.provider";
inline constexpr std::string_view kAiResponseModel = "ai.response.model";
inline constexpr std::string_view kAiOperationId = "ai.operationId";
inline constexpr std::string_view kAiSessionId = "ai.telemetry.metadata.sessionId";
inline constexpr std::string_view kAiUserId = "ai.telemetry.metadata.userId";

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
