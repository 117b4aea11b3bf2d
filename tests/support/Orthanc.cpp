#include "support/Orthanc.h"

#include "core/AtomicFile.h"
#include "support/TestSupport.h"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

namespace precis::test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double secondsSince(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

} // namespace

int freePort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof(a);
    int port = -1;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    ::close(fd);
    return port;
}

bool Orthanc::available() {
    return ::access(kExecutable, X_OK) == 0 && ::access(kStorescu, X_OK) == 0;
}

std::unique_ptr<Orthanc> Orthanc::start(std::string& error) {
    auto o = std::unique_ptr<Orthanc>(new Orthanc);
    o->dir_ = makeTempDir("orthanc");
    o->dicomPort_ = freePort();
    o->storePort_ = freePort();
    const int httpPort = freePort();
    nlohmann::json cfg = {{"Name", "precis-test"},
                          {"StorageDirectory", (o->dir_ / "storage").string()},
                          {"IndexDirectory", (o->dir_ / "index").string()},
                          {"DicomAet", "ORTHANC"},
                          {"DicomPort", o->dicomPort_},
                          {"HttpPort", httpPort},
                          {"HttpServerEnabled", false},
                          {"RemoteAccessAllowed", false},
                          {"AuthenticationEnabled", false},
                          {"DicomModalities", {{"precis", {"PRECIS", "127.0.0.1", o->storePort_}}}},
                          {"DicomAlwaysAllowEcho", true},
                          {"DicomAlwaysAllowStore", true},
                          {"DicomAlwaysAllowFind", true},
                          {"DicomAlwaysAllowGet", true},
                          {"DicomAlwaysAllowMove", true},
                          {"DicomCheckCalledAet", true},
                          {"DicomScpTimeout", 10},
                          {"DicomScuTimeout", 10},
                          {"DicomAssociationCloseDelay", 0},
                          {"StorageCompression", false},
                          {"SaveJobs", false},
                          {"Plugins", nlohmann::json::array()}};
    if (!writeFileAtomically(o->dir_ / "config.json", cfg.dump(2))) {
        error = "could not write the Orthanc configuration";
        return nullptr;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        error = "fork failed";
        return nullptr;
    }
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGTERM); // never outlive a crashed test
        int log = ::open((o->dir_ / "orthanc.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (log >= 0) {
            ::dup2(log, STDOUT_FILENO);
            ::dup2(log, STDERR_FILENO);
        }
        if (::chdir(o->dir_.c_str()) != 0) ::_exit(126);
        ::execl(kExecutable, "Orthanc", "config.json", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    o->pid_ = pid;
    dicom::PacsClient client(o->config());
    const auto t0 = Clock::now();
    for (;;) {
        if (client.echo()) break;
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            o->pid_ = -1;
            error = "Orthanc exited during start-up: " + o->log();
            return nullptr;
        }
        if (secondsSince(t0) > 20) {
            error = "Orthanc did not answer C-ECHO within 20 s: " + o->log();
            return nullptr;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return o;
}

Orthanc::~Orthanc() {
    stop();
}

void Orthanc::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto t0 = Clock::now();
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (secondsSince(t0) > 10) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

bool Orthanc::store(const fs::path& dir, std::string& error) const {
    const std::string cmd = std::string(kStorescu) + " -aec ORTHANC -aet SEEDER +sd +sp '*.dcm' " +
                            "127.0.0.1 " + std::to_string(dicomPort_) + " '" + dir.string() +
                            "' >/dev/null 2>&1";
    if (int rc = std::system(cmd.c_str()); rc != 0) {
        error = "storescu failed (" + std::to_string(rc) + "): " + log();
        return false;
    }
    return true;
}

dicom::PacsConfig Orthanc::config() const {
    dicom::PacsConfig c;
    c.host = "127.0.0.1";
    c.port = dicomPort_;
    c.calledAeTitle = "ORTHANC";
    c.callingAeTitle = "PRECIS";
    c.connectTimeoutS = 2;
    c.acseTimeoutS = 5;
    c.dimseTimeoutS = 10;
    c.storePort = storePort_;
    return c;
}

std::string Orthanc::log() const {
    return readFile(dir_ / "orthanc.log").value_or("(no log)");
}

} // namespace precis::test
