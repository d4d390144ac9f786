// FUZZ_CHECK: an invariant a harness asserts beyond "no crash". A failure prints where and
// aborts, which both libFuzzer and the replay driver (replay_main.cc) report with the input.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                         \
  do {                                                                                \
    if (!(condition)) {                                                               \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)
