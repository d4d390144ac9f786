// The test executables' main: Catch2's, with SIGPIPE ignored as in twinhub-sidecar, so a write
// to a socket whose peer went away fails that test with an error code instead of killing the run.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <csignal>

int main(int argc, char* argv[]) {
  std::signal(SIGPIPE, SIG_IGN);
  return Catch::Session().run(argc, argv);
}
