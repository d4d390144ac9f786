// Problem lists meant for people (config errors, fronts that failed to listen): bounded, so that
// a file with 150,000 bad fronts prints a screenful instead of 150,000 lines, and no single
// message (which may quote a value from the file) runs to megabytes. Pure functions; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace twinhub {

constexpr size_t kMaxListedProblems = 50;
constexpr size_t kMaxProblemChars = 400;

// `text` cut to about `max` bytes (never inside a UTF-8 character), saying how much was left out.
std::string boundedText(const std::string& text, size_t max = kMaxProblemChars);

// The first `max` problems, each bounded, then "... and N more problem(s)" when some were left out.
std::vector<std::string> listedProblems(const std::vector<std::string>& problems, size_t max = kMaxListedProblems);

// listedProblems() joined with "; " for a one-line status message.
std::string joinedProblems(const std::vector<std::string>& problems, size_t max = kMaxListedProblems);

}  // namespace twinhub
