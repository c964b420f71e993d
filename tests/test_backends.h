// The poller backends every backend-dependent suite runs against: epoll on Linux, and kqueue
// (the real one on BSD/macOS, the emulation in tests/kqueue_emulation/ on Linux).
//
// Use: INSTANTIATE_TEST_SUITE_P(Backends, MyTest, testing::ValuesIn(testBackends()),
//                               backendTestName);
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "reactor/poller.h"

namespace reactor::testing_support {

struct TestBackend {
  const char* name;
  std::unique_ptr<Poller> (*make)();
};

std::vector<TestBackend> testBackends();

inline void PrintTo(const TestBackend& backend, std::ostream* out) { *out << backend.name; }

std::string backendTestName(const ::testing::TestParamInfo<TestBackend>& info);

}  // namespace reactor::testing_support
