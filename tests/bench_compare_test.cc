// bench-compare, the side-by-side comparison driver, run end to end in its quick mode against our
// echo-server and the raw epoll floor only: it must exit cleanly and write results.md,
// results.json and throughput.png with every cell, both servers and every target in them. The
// floor needs no library, so `make test` builds it; a test binary run by hand without it skips.
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>
#include <vector>
#include <sys/wait.h>

#include "tests/child_process.h"

namespace {

using namespace std::chrono_literals;
using testing_support::ChildProcess;
using testing_support::Clock;
using testing_support::siblingBinary;

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

bool executable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

// A directory of its own under the system's temporary directory, removed with everything in it.
class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "bench_compare_XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(BenchCompare, QuickRunAgainstOursAndTheFloorWritesTheThreeReports) {
  const std::string floor = siblingBinary("peers/raw_epoll_echo");
  if (!executable(floor)) GTEST_SKIP() << floor << " is not built: `make peers` builds the peer servers";
  const std::string netload = siblingBinary("netload");
  if (!executable(netload)) GTEST_SKIP() << netload << " is not built: `make` builds it";
  TemporaryDirectory out;
  ASSERT_FALSE(out.path().empty());

  ChildProcess run(siblingBinary("bench-compare"), {"--quick", "--rounds=2", "--peers", "ours,raw", "--duration",
                                                    "0.05", "--warmup", "0.02", "--out", out.path().string()});
  const std::optional<int> status = run.waitForExit(Clock::now() + 60s);
  ASSERT_TRUE(status) << "bench-compare did not finish\n" << run.transcript();
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "status " << *status << "\n" << run.transcript();

  // results.md: one row per cell with a value for both servers, and a verdict on every target
  // that needs only ours and the floor.
  const std::string markdown = readFile(out.path() / "results.md");
  EXPECT_NE(markdown.find("| cell | metric | ours | raw epoll | vs raw epoll |"), std::string::npos) << markdown;
  for (const char* cell : {"| pingpong 1 x 16 KiB | MiB/s |", "| pingpong 100 x 16 KiB | MiB/s |",
                           "| pingpong 1000 x 16 KiB | MiB/s |", "| pingpong 100 x 64 B | messages/s |",
                           "| request-response 1 x 64 B | p50 latency us |", "| idle 300 connections |",
                           "## Timer wheel"}) {
    EXPECT_NE(markdown.find(cell), std::string::npos) << cell << "\n" << markdown;
  }
  EXPECT_EQ(markdown.find("Failed measurements"), std::string::npos) << markdown;
  // Eleven targets; the four that need libuv, Asio or Node cannot be judged, and throughput needs
  // only ours and the floor. (CPU-based ones may lack a value: 50 ms is only a few clock ticks.)
  EXPECT_EQ(occurrences(markdown, "| **met** |") + occurrences(markdown, "| **not met** |") +
                occurrences(markdown, "| not measured |"),
            11u)
      << markdown;
  EXPECT_GE(occurrences(markdown, "| not measured |"), 4u) << markdown;
  const std::size_t target = markdown.find("| pingpong 100 x 16 KiB: at least 0.95x of raw epoll | ");
  ASSERT_NE(target, std::string::npos) << markdown;
  const std::string targetRow = markdown.substr(target, markdown.find('\n', target) - target);
  EXPECT_TRUE(targetRow.ends_with("| **met** |") || targetRow.ends_with("| **not met** |")) << targetRow;
  EXPECT_NE(run.lineStartingWith("# Our echo-server side by side"), std::nullopt) << "the report is printed too";
  // Each median has its spread over the rounds beside it: "310 ±6%".
  EXPECT_NE(markdown.find("| pingpong 1 x 16 KiB | MiB/s | "), std::string::npos) << markdown;
  const std::size_t firstRow = markdown.find("| pingpong 1 x 16 KiB | MiB/s | ");
  const std::string row = markdown.substr(firstRow, markdown.find('\n', firstRow) - firstRow);
  EXPECT_EQ(occurrences(row, "\u00b1"), 2u) << row;
  EXPECT_NE(markdown.find("the spread"), std::string::npos) << "the header says what the spread is\n" << markdown;

  // results.json: every round of every server in every cell, ok, with netload's own object.
  const std::string json = readFile(out.path() / "results.json");
  const std::size_t measurements = std::size_t{2} * (7 * 2 + 2);  // 2 rounds of 7 cells x 2 servers, and the wheel's two
  EXPECT_EQ(json.rfind("{\n  \"tool\": \"bench-compare\",", 0), 0u) << json;
  EXPECT_EQ(occurrences(json, "\"ok\": true"), measurements) << json;
  EXPECT_EQ(occurrences(json, "\"netload\": {"), measurements) << json;
  EXPECT_EQ(occurrences(json, "{"), occurrences(json, "}"));
  EXPECT_NE(json.find("\"ours+timeout\": {\"medians\": {\"mib_per_s\": "), std::string::npos) << json;
  EXPECT_EQ(occurrences(json, "\"spreads\": {\"mib_per_s\": "), 3u * 2 + 2) << json;  // 3 MiB/s cells x 2 servers, the wheel cell's two


  // throughput.png: a PNG when gnuplot is there, and a line that says why not when it is not.
  const std::string png = readFile(out.path() / "throughput.png");
  if (run.lineStartingWith("chart skipped: gnuplot is not installed")) {
    EXPECT_TRUE(png.empty());
  } else {
    EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    EXPECT_GT(png.size(), 5000u);
  }
}

// Every numeric option, each negative, too large, not a number and empty, in both getopt_long
// forms; then --version.
TEST(BenchCompare, EveryNumberIsRangeChecked) {
  const auto deadline = Clock::now() + 30s;
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"--rounds", {"-1", "0", "1001", "99999999999999999999", "many", "", "1.5"}},
      {"--duration", {"-1", "0", "3601", "1e2", "inf", "nan", "soon", ""}},
      {"--warmup", {"-1", "0", "3601", "1e2", "inf", "soon", ""}},
  };
  for (const auto& [flag, values] : cases) {
    for (const std::string& value : values) {
      std::string joined = flag;  // --flag=VALUE
      joined += '=';
      joined += value;
      for (const std::vector<std::string>& args :
           {std::vector<std::string>{flag, value}, std::vector<std::string>{joined}}) {
        ChildProcess run(siblingBinary("bench-compare"), args);
        const std::optional<int> status = run.waitForExit(deadline);
        ASSERT_TRUE(status) << flag << " '" << value << "'";
        EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2)
            << flag << " '" << value << "' status " << *status << "\n" << run.transcript();
      }
    }
  }
  ChildProcess version(siblingBinary("bench-compare"), {"--version"});
  const std::optional<int> status = version.waitForExit(deadline);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  EXPECT_TRUE(version.lineStartingWith("bench-compare (reactornet) ")) << version.transcript();
}

}  // namespace
