// Process liveness from /proc; see process.h.
#include "common/process.h"

#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace fulmar {

bool process_running(pid_t pid) {
    if (pid <= 0) return false;
    if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
    std::FILE* f = std::fopen(path, "r");
    if (f == nullptr) return false;
    char buf[512];
    const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // "pid (comm) S ...": the state follows the last ')' (comm may hold any
    // character, parentheses included).
    const char* close = std::strrchr(buf, ')');
    if (close == nullptr || close[1] != ' ') return true;
    const char state = close[2];
    return state != 'Z' && state != 'X' && state != 'x';
}

}  // namespace fulmar
