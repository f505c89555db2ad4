// Whether another process still runs: the dataplane watching its control
// plane, a control plane checking for another one attached.
//
// Any thread. kill(pid, 0) alone is not enough: a killed process whose
// parent has not reaped it (a launcher that exited, leaving it to an init
// that does not reap) is a zombie, and kill() still finds it.
#pragma once

#include <sys/types.h>

namespace fulmar {

// True while `pid` exists and is neither a zombie nor dead (Linux /proc).
bool process_running(pid_t pid);

}  // namespace fulmar
