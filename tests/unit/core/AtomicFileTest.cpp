#include "core/AtomicFile.h"

#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace precis;

TEST(AtomicFile, WritesAndReadsBack) {
    auto dir = test::makeTempDir("atomic");
    auto file = dir / "sub" / "plan.json";
    ASSERT_TRUE(writeFileAtomically(file, "{\"a\":", "1}"));
    auto back = readFile(file);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, "{\"a\":1}");
    // No temporary left behind.
    int entries = 0;
    for (auto& e : std::filesystem::directory_iterator(dir / "sub")) (void)e, ++entries;
    EXPECT_EQ(entries, 1);
}

TEST(AtomicFile, FailedSaveKeepsTheLastGoodFile) {
    if (::geteuid() == 0) {
        // root ignores directory permissions; use a path whose parent is a regular file instead.
        auto dir = test::makeTempDir("atomic-fail");
        auto file = dir / "plan.json";
        ASSERT_TRUE(writeFileAtomically(file, "good"));
        auto blocked = dir / "plan.json" / "child"; // parent is a file: cannot create
        auto r = writeFileAtomically(blocked, "bad");
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, ErrorCode::IoError);
        EXPECT_NE(r.error().message.find("child"), std::string::npos);
        EXPECT_EQ(*readFile(file), "good");
        return;
    }
    auto dir = test::makeTempDir("atomic-fail");
    auto file = dir / "plan.json";
    ASSERT_TRUE(writeFileAtomically(file, "good"));
    ::chmod(dir.c_str(), 0500);
    auto r = writeFileAtomically(file, "bad");
    ::chmod(dir.c_str(), 0700);
    ASSERT_FALSE(r);
    EXPECT_EQ(*readFile(file), "good");
}

TEST(AtomicFile, KilledWriterLeavesTheOldFileIntact) {
    auto dir = test::makeTempDir("atomic-kill");
    auto file = dir / "plan.json";
    ASSERT_TRUE(writeFileAtomically(file, "good"));
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        std::string big(256 << 20, 'x'); // long enough to be killed mid-write
        (void)writeFileAtomically(file, big);
        ::_exit(0);
    }
    ::usleep(20000);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    auto back = readFile(file);
    ASSERT_TRUE(back);
    // Either the old content or (if the child finished first) the complete new one, never a mix.
    EXPECT_TRUE(*back == "good" || back->size() == (256u << 20));
}

TEST(AtomicFile, ReadMissingFileNamesIt) {
    auto r = readFile("/nonexistent/precis/file.json");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::NotFound);
    EXPECT_NE(r.error().message.find("/nonexistent/precis/file.json"), std::string::npos);
}
