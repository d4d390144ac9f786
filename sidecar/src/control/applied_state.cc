#include "control/applied_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "control_wire/desired_state.h"

namespace twinhub {

namespace {

using json = nlohmann::json;
constexpr size_t kMaxFileBytes = 64 * 1024;

std::string pathIn(const std::string& dir, const std::string& sidecar_id) {
  return dir + "/applied-state." + wire::desiredStateKey(sidecar_id) + ".json";  // a safe file name
}

}  // namespace

std::optional<AppliedState> loadAppliedState(const std::string& dir, const std::string& sidecar_id,
                                             std::string* error) {
  std::ifstream in(pathIn(dir, sidecar_id), std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(kMaxFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  json doc = json::parse(text, nullptr, false);
  AppliedState state;
  try {
    if (text.size() > kMaxFileBytes || doc.is_discarded() || !doc.is_object()) throw std::runtime_error("not JSON");
    state.mode = doc.at("mode").get<std::string>();
    state.primary = doc.value("primary", "");
    state.generation = doc.at("generation").get<uint64_t>();
    state.provisional_until_ms = doc.value("provisional_until_ms", int64_t{0});
    state.previous_mode = doc.value("previous_mode", "");
    state.reverted = doc.value("reverted", false);
    if (state.mode != "direct" && state.mode != "hub") throw std::runtime_error("bad mode");
  } catch (const std::exception& e) {
    if (error) *error = pathIn(dir, sidecar_id) + ": unreadable (" + e.what() + "); ignored";
    return std::nullopt;
  }
  return state;
}

Status saveAppliedState(const std::string& dir, const std::string& sidecar_id, const AppliedState& state) {
  const json doc = {{"v", 1},
                    {"mode", state.mode},
                    {"primary", state.primary},
                    {"generation", state.generation},
                    {"provisional_until_ms", state.provisional_until_ms},
                    {"previous_mode", state.previous_mode},
                    {"reverted", state.reverted}};
  const std::string text = doc.dump() + "\n";
  const std::string path = pathIn(dir, sidecar_id), temporary = path + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::error(temporary + ": " + std::strerror(errno));
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!written) return Status::error(temporary + ": " + std::strerror(saved));
  if (::rename(temporary.c_str(), path.c_str()) != 0) return Status::error(path + ": " + std::strerror(errno));
  return Status::ok();
}

}  // namespace twinhub
