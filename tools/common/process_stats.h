// What Linux's /proc says about a process's resource use: its open descriptors, resident memory and
// CPU time. netload reports them for the server it loads; the load, fault and soak tests compare
// them before and after, to prove that descriptors and memory come back and that nothing spins.
//
// pid 0 means the calling process. Each reading is independent (nothing is cached) and returns
// nullopt where /proc is missing (other systems) or the process is gone; callers then skip what
// needed it rather than guess.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>

namespace tools {

// The entries of /proc/PID/fd (for this process, less the one the listing itself holds open).
// Another process's descriptors need the permission to inspect it.
std::optional<std::size_t> openDescriptorCount(pid_t pid = 0);

// VmRSS of /proc/PID/status, in bytes.
std::optional<std::size_t> residentSetBytes(pid_t pid = 0);

// User plus system CPU time of every thread, in seconds: what a load costs, however busy other
// processes keep the cores. Another process's from /proc/PID/stat, in clock ticks (10 ms where
// the kernel's USER_HZ is 100); this process's from getrusage(), in microseconds.
std::optional<double> cpuSeconds(pid_t pid = 0);

}  // namespace tools
