# Writes demo_data.cc: the recorded responses the demo uses, as raw strings.
set(CONVTRACE_DEMO_FIXTURES
  openai_chat_completion.json
  openai_chat_completion_cached_reasoning.json
  openai_responses_reasoning.json
  anthropic_messages.json
  gemini_generate_content_thinking.json
  mistral_chat.json
  openai_embeddings.json)
set(CONVTRACE_DEMO_BODIES "")
foreach(name ${CONVTRACE_DEMO_FIXTURES})
  set(fixture ${PROJECT_SOURCE_DIR}/tests/fixtures/provider-responses/${name})
  set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${fixture})
  file(READ ${fixture} body)
  string(APPEND CONVTRACE_DEMO_BODIES
    "  if (name == \"${name}\") {\n    return R\"ctrec(${body})ctrec\";\n  }\n")
endforeach()
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/demo_data.cc.in ${CMAKE_CURRENT_BINARY_DIR}/demo_data.cc @ONLY)
