#include "core/AtomicFile.h"

#include <fmt/core.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace precis {
namespace {

bool writeAll(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

} // namespace

Result<void> writeFileAtomically(const std::filesystem::path& file, std::string_view header,
                                 std::string_view body) {
    std::error_code ec;
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
    const std::string tmp = file.string() + fmt::format(".tmp-{}", ::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail(ErrorCode::IoError,
                    fmt::format("cannot write {}: {}", file.string(), std::strerror(errno)));
    bool ok = writeAll(fd, header) && writeAll(fd, body) && ::fsync(fd) == 0;
    int savedErrno = errno;
    ok = (::close(fd) == 0) && ok;
    if (!ok || std::rename(tmp.c_str(), file.c_str()) != 0) {
        if (ok) savedErrno = errno;
        ::unlink(tmp.c_str());
        return fail(ErrorCode::IoError,
                    fmt::format("cannot write {}: {}", file.string(), std::strerror(savedErrno)));
    }
    // Make the rename itself durable.
    if (file.has_parent_path()) {
        int dfd = ::open(file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            ::fsync(dfd);
            ::close(dfd);
        }
    }
    return {};
}

Result<std::string> readFile(const std::filesystem::path& file) {
    std::FILE* f = std::fopen(file.c_str(), "rb");
    if (!f) {
        auto code = errno == ENOENT ? ErrorCode::NotFound : ErrorCode::IoError;
        return fail(code, fmt::format("cannot open {}: {}", file.string(), std::strerror(errno)));
    }
    std::string data;
    char buf[1 << 16];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, n);
    bool err = std::ferror(f);
    std::fclose(f);
    if (err) return fail(ErrorCode::IoError, fmt::format("error while reading {}", file.string()));
    return data;
}

} // namespace precis
