#pragma once
// A real Orthanc PACS for tests (DESIGN.md "Real components in tests"): Debian's `Orthanc` runs in
// the foreground on free ports with a private configuration and storage, answers C-ECHO before
// start() returns, and is stopped by its process id (SIGTERM, then SIGKILL after 10 s).
#include "dicom/PacsClient.h"

#include <filesystem>
#include <memory>
#include <string>
#include <sys/types.h>

namespace precis::test {

/// A TCP port nothing listens on right now (the kernel's pick for port 0 on 127.0.0.1).
int freePort();

class Orthanc {
public:
    static constexpr const char* kExecutable = "/usr/sbin/Orthanc";
    static constexpr const char* kStorescu = "/usr/bin/storescu";
    /// Orthanc and DCMTK's storescu (used to seed it) are installed.
    static bool available();

    /// Starts it (AE "ORTHANC"; it knows "PRECIS" at 127.0.0.1:storePort()) and waits, at most
    /// 20 s, until it answers C-ECHO. nullptr with `error` (and Orthanc's log) otherwise.
    static std::unique_ptr<Orthanc> start(std::string& error);
    ~Orthanc();
    Orthanc(const Orthanc&) = delete;
    Orthanc& operator=(const Orthanc&) = delete;
    void stop();

    /// Stores every *.dcm under `dir` with storescu; false with `error` on failure.
    bool store(const std::filesystem::path& dir, std::string& error) const;

    /// A client configuration for it, with short timeouts.
    [[nodiscard]] dicom::PacsConfig config() const;
    [[nodiscard]] std::string log() const;
    [[nodiscard]] int dicomPort() const { return dicomPort_; }
    [[nodiscard]] int storePort() const { return storePort_; }

private:
    Orthanc() = default;
    std::filesystem::path dir_;
    int dicomPort_ = 0;
    int storePort_ = 0;
    pid_t pid_ = -1;
};

} // namespace precis::test
