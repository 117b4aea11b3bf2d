#pragma once
// Atomic saves (DESIGN.md "Errors" 5): write to a temporary file beside the target, fsync, then
// rename over the target. A failed or interrupted save leaves the last good file intact.
#include "core/Error.h"

#include <filesystem>
#include <string_view>

namespace precis {

/// Writes `header` then `body` (either may be empty) to `file` atomically. IoError names the file.
Result<void> writeFileAtomically(const std::filesystem::path& file, std::string_view header,
                                 std::string_view body = {});

/// Reads a whole file. NotFound / IoError name the file.
Result<std::string> readFile(const std::filesystem::path& file);

} // namespace precis
