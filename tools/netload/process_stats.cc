#include "tools/netload/process_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace netload {

namespace {

std::optional<std::string> readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string procPath(int pid, const char* file) { return "/proc/" + std::to_string(pid) + "/" + file; }

}  // namespace

std::optional<double> processCpuSeconds(int pid) {
  const auto stat = readFile(procPath(pid, "stat"));
  if (!stat) return std::nullopt;
  // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
  const std::size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat->substr(close + 1));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int number = 3; number <= 15 && fields >> field; ++number) {
    if (number == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (number == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  if (!fields) return std::nullopt;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::optional<std::int64_t> processRssBytes(int pid) {
  const auto status = readFile(procPath(pid, "status"));
  if (!status) return std::nullopt;
  const std::size_t line = status->find("\nVmRSS:");
  if (line == std::string::npos) return std::nullopt;  // a kernel thread, or a zombie
  return std::strtoll(status->c_str() + line + 7, nullptr, 10) * 1024;  // "VmRSS:   1234 kB"
}

std::optional<std::size_t> openDescriptorCount(int pid) {
  DIR* directory = opendir(procPath(pid, "fd").c_str());
  if (directory == nullptr) return std::nullopt;
  std::size_t count = 0;
  while (const dirent* entry = readdir(directory)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(directory);
  return count;
}

double ownCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace netload
