// `twinhubctl hub-users -f FLEET --secrets-dir DIR [-o FILE]`: the nats-server `authorization {}`
// block for a fleet's hubs (docs/permissions.md). Each user's password is read from
// DIR/<user>.password, or made (32 hex digits from getrandom(2)) and written there with mode 0600
// when the file does not exist yet, so that running it again yields the same block. The block
// goes to stdout or, with -o, to FILE (mode 0600). Passwords are never printed anywhere else.
#include <CLI/CLI.hpp>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "commands.h"
#include "fleet/fleet_loader.h"
#include "plan_command.h"
#include "secure_random/secure_random.h"
#include "security/hub_users.h"

namespace twinhub::ctl {

namespace {

std::string newPassword() {
  unsigned char bytes[16];
  secureRandomBytes(bytes, sizeof bytes);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
  return out;
}

bool writeSecret(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  return ::close(fd) == 0 && ok;
}

std::string passwordOf(const std::string& dir, const std::string& user) {
  const std::string path = dir + "/" + user + ".password";
  std::ifstream in(path);
  std::string line;
  if (in && std::getline(in, line) && !line.empty()) return line;
  const std::string made = newPassword();
  if (!writeSecret(path, made + "\n")) throw std::runtime_error("cannot write " + path);
  return made;
}

struct HubUsersOptions {
  std::string fleet_file;
  std::string secrets_dir;
  std::string out_file;
};

int runHubUsers(const HubUsersOptions& options) {
  const fleet::FleetLoadResult loaded = fleet::loadFleetFile(options.fleet_file);
  if (loaded.problems.count(fleet::Severity::kError) > 0) {
    for (const std::string& line : loaded.problems.formatted(fleet::Severity::kError)) std::cerr << line << "\n";
    return kPlanExitInvalid;
  }
  ::mkdir(options.secrets_dir.c_str(), 0700);
  std::string block;
  try {
    block = security::renderAuthorization(security::fleetUsers(
        loaded.fleet, [&](const std::string& user) { return passwordOf(options.secrets_dir, user); }));
  } catch (const std::exception& e) {
    std::cerr << "hub-users: " << e.what() << "\n";
    return kPlanExitWriteFailed;
  }
  if (options.out_file.empty()) {
    std::cout << block;
    return kPlanExitOk;
  }
  if (!writeSecret(options.out_file, block)) {
    std::cerr << "hub-users: cannot write " << options.out_file << "\n";
    return kPlanExitWriteFailed;
  }
  return kPlanExitOk;
}

}  // namespace

void addHubUsers(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<HubUsersOptions>();
  CLI::App* cmd = app.add_subcommand(
      "hub-users", "Print the nats-server authorization block (one user per sidecar, controller, aggregator) for a fleet");
  cmd->add_option("-f,--fleet", options->fleet_file, "Fleet file")->required();
  cmd->add_option("--secrets-dir", options->secrets_dir, "Directory of <user>.password files (made when missing)")
      ->required();
  cmd->add_option("-o,--out", options->out_file, "Write the block here (mode 0600) instead of stdout");
  cmd->callback([options, &exit_code] { exit_code = runHubUsers(*options); });
}

}  // namespace twinhub::ctl
