// Photos beside a log export: the folder FILE.media/ next to FILE holds each photo the
// exported records reference as a file named by its SHA-256, and its metadata as
// HASH.json (wire::MediaJson). `import --records` stores them again, so an exported and
// re-imported directory verifies with its evidence.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/status.h"
#include "core/time.h"
#include "engine/engine.h"

namespace wangge::io {

// The folder beside an export file.
std::string MediaFolderOf(const std::string& export_file);

struct MediaFilesReport {
  uint64_t written = 0;  // photos written (or stored, on import)
  uint64_t missing = 0;  // referenced photos not in the directory (or not in the folder)
};

// Writes every photo that a record recorded in [from, to) references into `folder`
// (created when there is one to write). kIOError: a file that cannot be written.
Result<MediaFilesReport> ExportMedia(const engine::Engine& engine, std::optional<TimeMs> from,
                                     std::optional<TimeMs> to, const std::string& folder);

// Checks every photo file in `folder` (when it exists) before an import writes anything:
// its bytes hash to its name and its metadata reads. kInvalidArgument naming the file.
Status CheckMediaFolder(const std::string& folder);

// Stores into `engine` every photo its log references that `folder` holds. A file whose
// bytes do not hash to its name, or whose metadata does not read, is kInvalidArgument
// naming the file; nothing after it is stored.
Result<MediaFilesReport> ImportMedia(engine::Engine& engine, const std::string& folder);

}  // namespace wangge::io
