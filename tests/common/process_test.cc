// process_running: alive, a zombie nobody reaped yet, gone.
#include "common/process.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace fulmar {
namespace {

TEST(ProcessRunning, ThisProcessRuns) {
    EXPECT_TRUE(process_running(::getpid()));
}

TEST(ProcessRunning, AZombieIsNotRunningAndNeitherIsAReapedChild) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) ::_exit(0);
    // Not reaped yet: a zombie, which kill(pid, 0) still finds.
    bool zombie_seen = false;
    for (int i = 0; i < 200 && !zombie_seen; ++i) {
        zombie_seen = !process_running(child);
        if (!zombie_seen) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_TRUE(zombie_seen);
    EXPECT_EQ(::kill(child, 0), 0) << "still a zombie: kill() alone would call it alive";
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_FALSE(process_running(child));
}

TEST(ProcessRunning, NoSuchPid) {
    EXPECT_FALSE(process_running(0));
    EXPECT_FALSE(process_running(-1));
}

}  // namespace
}  // namespace fulmar
