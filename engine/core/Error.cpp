#include "core/Error.h"

namespace precis {

std::string_view toString(ErrorCode code) {
    switch (code) {
    case ErrorCode::InvalidArgument: return "invalid-argument";
    case ErrorCode::NotFound: return "not-found";
    case ErrorCode::IoError: return "io-error";
    case ErrorCode::ParseError: return "parse-error";
    case ErrorCode::UnsupportedEncoding: return "unsupported-encoding";
    case ErrorCode::Unsupported: return "unsupported";
    case ErrorCode::DeviceError: return "device-error";
    case ErrorCode::Cancelled: return "cancelled";
    case ErrorCode::Internal: return "internal";
    }
    return "unknown";
}

std::string describe(const Error& error) {
    if (error.detail.empty()) return error.message;
    return error.message + " (" + error.detail + ")";
}

} // namespace precis
