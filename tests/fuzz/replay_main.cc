// Replays a fuzz harness without libFuzzer, so that the gcc build and the sanitizer build run
// every harness in the test suite: each file of the corpus directories, then a fixed number of
// deterministic mutations of them (fixed seed: a failure reproduces with the same command).
//
//   <harness> [--mutations N] [--seed S] [--max-len BYTES] CORPUS_DIR...
//
// The input being run when the process dies (a failed check, a crash, a sanitizer report) is
// written to ./fuzz-replay-crash, to be replayed with the libFuzzer build or this driver.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
// Present in sanitizer builds only.
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace {

// What is being run; the death handlers write it out. Set before every call.
const std::string* g_current = nullptr;

void saveCurrentInput() {
  if (g_current == nullptr) return;
  const int fd = ::open("fuzz-replay-crash", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  ssize_t ignored = ::write(fd, g_current->data(), g_current->size());
  (void)ignored;
  ::close(fd);
  static const char kNote[] = "replay: the failing input is in ./fuzz-replay-crash\n";
  ignored = ::write(2, kNote, sizeof kNote - 1);
}

void onDeadlySignal(int sig) {
  saveCurrentInput();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

struct Options {
  uint64_t mutations = 20000;
  uint64_t seed = 12;
  size_t max_len = 4096;
  std::vector<std::string> dirs;
};

bool parseOptions(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--mutations" && has_value) {
      options->mutations = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--seed" && has_value) {
      options->seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--max-len" && has_value) {
      options->max_len = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg.rfind("--", 0) == 0) {
      return false;
    } else {
      options->dirs.push_back(arg);
    }
  }
  return !options->dirs.empty();
}

// Every regular file under the directories, by path, so that runs are repeatable.
std::vector<std::string> readCorpus(const std::vector<std::string>& dirs) {
  std::vector<std::filesystem::path> paths;
  for (const std::string& dir : dirs) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.is_regular_file()) paths.push_back(entry.path());
    }
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> corpus;
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return corpus;
}

// Byte values that sit on boundaries of lengths, types and text.
constexpr uint8_t kInteresting[] = {0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, ' ', '"', '\\', ':', '-', '\n', '{', '}', '[', ']', '.', '*', '>'};

// libFuzzer's basic moves, a few of them at a time: flip a bit, set a byte, erase or duplicate a
// range, insert random bytes, splice in part of another seed.
std::string mutate(std::string data, const std::vector<std::string>& corpus, size_t max_len, std::mt19937_64& rng) {
  auto below = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  const int moves = 1 + static_cast<int>(below(6));
  for (int m = 0; m < moves; ++m) {
    const size_t at = below(data.size() + 1);
    switch (below(7)) {
      case 0:
        if (!data.empty()) data[below(data.size())] ^= static_cast<char>(1u << below(8));
        break;
      case 1:
        if (!data.empty()) data[below(data.size())] = static_cast<char>(kInteresting[below(std::size(kInteresting))]);
        break;
      case 2:
        data.erase(at, 1 + below(16));
        break;
      case 3:
        if (at < data.size()) data.insert(at, data.substr(at, 1 + below(32)));
        break;
      case 4: {
        std::string bytes(1 + below(8), '\0');
        for (char& c : bytes) c = static_cast<char>(rng());
        data.insert(at, bytes);
        break;
      }
      case 5: {
        const std::string& other = corpus[below(corpus.size())];
        const size_t from = below(other.size());
        data.insert(at, other.substr(from, 1 + below(64)));
        break;
      }
      default:
        if (!data.empty()) data[below(data.size())] = static_cast<char>(rng());
        break;
    }
  }
  if (data.size() > max_len) data.resize(max_len);
  return data;
}

void run(const std::string& input) {
  g_current = &input;
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  g_current = nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parseOptions(argc, argv, &options)) {
    std::fprintf(stderr, "usage: %s [--mutations N] [--seed S] [--max-len BYTES] CORPUS_DIR...\n", argv[0]);
    return 2;
  }
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) ::signal(sig, onDeadlySignal);
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(saveCurrentInput);

  const std::vector<std::string> corpus = readCorpus(options.dirs);
  if (corpus.empty()) {
    std::fprintf(stderr, "replay: no corpus files in the given directories\n");
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& input : corpus) run(input);
  std::mt19937_64 rng(options.seed);
  for (uint64_t i = 0; i < options.mutations; ++i) {
    run(mutate(corpus[rng() % corpus.size()], corpus, options.max_len, rng));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const uint64_t runs = corpus.size() + options.mutations;
  std::printf("replay: %zu corpus files + %llu mutations (seed %llu) in %.2f s, %.0f runs/s\n", corpus.size(),
              static_cast<unsigned long long>(options.mutations), static_cast<unsigned long long>(options.seed), seconds,
              seconds > 0 ? runs / seconds : 0.0);
  return 0;
}
