// The web UI's files (HTML, JavaScript, CSS and the charting library),
// compiled into the program at build time from cli/ui/ (EmbedUiAssets.cmake).
#pragma once

#include <string_view>

namespace convtrace::cli {

struct UiAsset {
  std::string_view content;
  std::string_view content_type;
};

// The file served at `path` ("/app.js"); content empty when there is none.
UiAsset ui_asset(std::string_view path);
// False when the build found no charting library (charts are then tables).
bool ui_has_charts();

}  // namespace convtrace::cli
