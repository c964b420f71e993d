#include "tools/common/process_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace tools {

namespace {

std::string procPath(pid_t pid, const char* entry) {
  return "/proc/" + (pid == 0 ? std::string("self") : std::to_string(pid)) + "/" + entry;
}

double seconds(const timeval& time) {
  return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) / 1e6;
}

}  // namespace

std::optional<std::size_t> openDescriptorCount(pid_t pid) {
  DIR* directory = opendir(procPath(pid, "fd").c_str());
  if (directory == nullptr) return std::nullopt;
  const std::string own = std::to_string(dirfd(directory));
  std::size_t count = 0;
  while (const dirent* entry = readdir(directory)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (pid == 0 && name == own) continue;
    ++count;
  }
  closedir(directory);
  return count;
}

std::optional<std::size_t> residentSetBytes(pid_t pid) {
  std::ifstream status(procPath(pid, "status"));
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:"))
      return std::stoull(line.substr(6)) * 1024;  // "VmRSS:   1234 kB"
  }
  return std::nullopt;  // no such process, or one without memory of its own (a zombie)
}

std::optional<double> cpuSeconds(pid_t pid) {
  if (pid == 0) {
    rusage usage{};
    if (getrusage(RUSAGE_SELF, &usage) != 0) return std::nullopt;
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
  }
  std::ifstream stat(procPath(pid, "stat"));
  std::string line;
  if (!std::getline(stat, line)) return std::nullopt;
  // "PID (name) state ..." with utime and stime the 14th and 15th fields; the name may hold
  // spaces and parentheses, so fields are counted from the last ')'.
  const std::size_t nameEnd = line.rfind(')');
  if (nameEnd == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(nameEnd + 1));
  std::string skipped;
  for (int field = 3; field < 14; ++field) fields >> skipped;
  unsigned long long userTicks = 0, systemTicks = 0;
  if (!(fields >> userTicks >> systemTicks)) return std::nullopt;
  return static_cast<double>(userTicks + systemTicks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace tools
