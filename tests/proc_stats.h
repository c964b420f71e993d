// What Linux's /proc says about a process: its open descriptors, resident memory and CPU time. Tests of
// load and faults compare them before and after, to prove that descriptors and memory come back.
//
// pid 0 means the calling process. Every function returns nullopt where /proc is missing (other
// systems) or the process is gone; callers skip their check then rather than guess.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>

namespace reactor::testing_support {

// The entries of /proc/PID/fd (for this process, without the one the listing itself holds open).
std::optional<std::size_t> openDescriptorCount(pid_t pid = 0);

// VmRSS of /proc/PID/status, in bytes.
std::optional<std::size_t> residentSetBytes(pid_t pid = 0);

// User plus system CPU time the process has used so far, in seconds (/proc/PID/stat): what a
// load costs, independent of how busy the machine's other processes keep its cores.
std::optional<double> cpuSeconds(pid_t pid = 0);

}  // namespace reactor::testing_support
