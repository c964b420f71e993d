// Readings of a process's resource use: another process's from /proc (Linux: CPU seconds from
// /proc/PID/stat, resident set from /proc/PID/status, open descriptors from /proc/PID/fd), and
// this process's own CPU time. Each reading is independent and returns nullopt when the process
// is gone or its files cannot be read; nothing is cached.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace netload {

// User + system CPU seconds of every thread of `pid`, at clock-tick resolution.
std::optional<double> processCpuSeconds(int pid);
// VmRSS of `pid` in bytes.
std::optional<std::int64_t> processRssBytes(int pid);
// Descriptors `pid` has open (needs the permission to inspect that process).
std::optional<std::size_t> openDescriptorCount(int pid);
// User + system CPU seconds this process has used.
double ownCpuSeconds();

}  // namespace netload
