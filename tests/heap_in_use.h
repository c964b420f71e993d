// heapInUse(): the bytes this process has allocated and not freed yet, for tests that bound what
// an object keeps while it works (a write queue, a long stream).
//
// In a normal build, glibc's counters: in-use chunks of the arenas (mallinfo2's uordblks) plus the
// blocks it mapped on their own (hblkhd), chunk headers included. Under AddressSanitizer or
// ThreadSanitizer, whose allocator replaces malloc, the sanitizer's count of live blocks (freed
// blocks held in its quarantine are not in it). Elsewhere nullopt: callers skip the check rather
// than guess. Thread-safe; cheap enough to call after every loop iteration.
#pragma once

#include <cstddef>
#include <optional>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TESTS_HEAP_FROM_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TESTS_HEAP_FROM_SANITIZER 1
#endif
#endif

#if defined(TESTS_HEAP_FROM_SANITIZER) && __has_include(<sanitizer/allocator_interface.h>)
#include <sanitizer/allocator_interface.h>
#elif defined(TESTS_HEAP_FROM_SANITIZER)
// GCC's runtimes export it without shipping the header that declares it (clang ships one).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#elif defined(__GLIBC__)
#include <malloc.h>
#endif

namespace reactor::testing_support {

inline std::optional<std::size_t> heapInUse() {
#if defined(TESTS_HEAP_FROM_SANITIZER)
  return __sanitizer_get_current_allocated_bytes();
#elif defined(__GLIBC__)
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
#else
  return std::nullopt;
#endif
}

}  // namespace reactor::testing_support
