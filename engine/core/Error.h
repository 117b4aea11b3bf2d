#pragma once
// Expected failures (bad input, missing device, peer gone) travel as precis::Result<T>.
// Contract violations use PRECIS_ASSERT (core/Assert.h) instead.
#include <expected>
#include <string>
#include <string_view>

namespace precis {

enum class ErrorCode {
    InvalidArgument,     // caller passed something unusable (bad option, malformed number)
    NotFound,            // file, folder, series or device does not exist
    IoError,             // read/write failed (permissions, disk full, short read)
    ParseError,          // the bytes are not what the format says (corrupt DICOM, bad JSON)
    UnsupportedEncoding, // valid file in an encoding nothing here can decode (e.g. HTJ2K)
    Unsupported,         // valid request this build cannot do
    DeviceError,         // Vulkan or other device failure
    Cancelled,           // the user cancelled long work
    Internal,            // a bug: should never reach the user
};

std::string_view toString(ErrorCode code);

struct Error {
    ErrorCode code = ErrorCode::Internal;
    std::string message; // for the user: what failed, which file, what to do
    std::string detail;  // for developers: library codes, offsets
};

template <class T>
using Result = std::expected<T, Error>;

/// Builds the unexpected value: `return precis::fail(ErrorCode::NotFound, "...")`.
[[nodiscard]] inline std::unexpected<Error> fail(ErrorCode code, std::string message,
                                                 std::string detail = {}) {
    return std::unexpected(Error{code, std::move(message), std::move(detail)});
}

/// "message (detail)" for logs and CLI output.
std::string describe(const Error& error);

} // namespace precis
