# Writes ui_assets.cc: the web UI's files (cli/ui/) and the charting library
# (uPlot, installed by `npm ci --prefix cli/ui`, which tools/install-deps.sh
# runs) as string literals, so `convtrace ui` and `report --html` need nothing
# from the network or the disk. Without node_modules/uplot the UI is built
# without charts (their figures show as tables) and configure says so.
set(CONVTRACE_UI_DIR ${CMAKE_CURRENT_SOURCE_DIR}/ui)
set(CONVTRACE_UPLOT_DIR ${CONVTRACE_UI_DIR}/node_modules/uplot/dist)
set(CONVTRACE_UI_ASSETS "")
# Appends the file served at `path` (with its Content-Type) to CONVTRACE_UI_ASSETS.
function(convtrace_embed_ui_asset path type file)
  set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
  file(READ ${file} body)
  # Raw string pieces of at most 16000 characters (some compilers limit one literal).
  string(LENGTH "${body}" length)
  set(pieces "")
  set(offset 0)
  while(offset LESS length)
    string(SUBSTRING "${body}" ${offset} 16000 piece)
    string(APPEND pieces "R\"cvtui(${piece})cvtui\"\n")
    math(EXPR offset "${offset} + 16000")
  endwhile()
  set(CONVTRACE_UI_ASSETS "${CONVTRACE_UI_ASSETS}  if (path == \"${path}\") {\n    static const char kBody[] =\n${pieces};\n    return {std::string_view(kBody, sizeof kBody - 1), \"${type}\"};\n  }\n" PARENT_SCOPE)
endfunction()
convtrace_embed_ui_asset(/index.html "text/html; charset=utf-8" ${CONVTRACE_UI_DIR}/index.html)
convtrace_embed_ui_asset(/app.js "text/javascript; charset=utf-8" ${CONVTRACE_UI_DIR}/app.js)
convtrace_embed_ui_asset(/app.css "text/css; charset=utf-8" ${CONVTRACE_UI_DIR}/app.css)
if(EXISTS ${CONVTRACE_UPLOT_DIR}/uPlot.iife.min.js)
  convtrace_embed_ui_asset(/uplot.js "text/javascript; charset=utf-8" ${CONVTRACE_UPLOT_DIR}/uPlot.iife.min.js)
  convtrace_embed_ui_asset(/uplot.css "text/css; charset=utf-8" ${CONVTRACE_UPLOT_DIR}/uPlot.min.css)
  set(CONVTRACE_UI_HAS_CHARTS true)
else()
  message(WARNING "convtrace ui: cli/ui/node_modules/uplot is missing (run: npm ci --prefix "
                  "cli/ui, or tools/install-deps.sh); the UI is built without charts")
  # A comment for both, so that the page loads them without an error.
  convtrace_embed_ui_asset(/uplot.js "text/javascript; charset=utf-8" ${CONVTRACE_UI_DIR}/no-charts.txt)
  convtrace_embed_ui_asset(/uplot.css "text/css; charset=utf-8" ${CONVTRACE_UI_DIR}/no-charts.txt)
  set(CONVTRACE_UI_HAS_CHARTS false)
endif()
# npm ci creating node_modules changes cli/ui: configure again then.
set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CONVTRACE_UI_DIR})
# Not configure_file: the files may contain @NAME@. Written through a copy
# that changes only when the content does, so nothing rebuilds needlessly.
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/ui_assets.cc.new
"// Generated at configure time from cli/ui/ by EmbedUiAssets.cmake. Do not edit.
#include \"ui_assets.h\"

namespace convtrace::cli {

UiAsset ui_asset(std::string_view path) {
${CONVTRACE_UI_ASSETS}  return {};
}

bool ui_has_charts() { return ${CONVTRACE_UI_HAS_CHARTS}; }

}  // namespace convtrace::cli
")
configure_file(${CMAKE_CURRENT_BINARY_DIR}/ui_assets.cc.new ${CMAKE_CURRENT_BINARY_DIR}/ui_assets.cc COPYONLY)
