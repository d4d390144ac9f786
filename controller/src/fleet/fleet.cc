#include "fleet/fleet.h"

namespace twinhub::fleet {

const char* healthProtocolName(HealthProtocol protocol) {
  switch (protocol) {
    case HealthProtocol::kTcp: return "tcp";
    case HealthProtocol::kHttp: return "http";
    case HealthProtocol::kZmq: break;
  }
  return "zmq";
}

RoleCredentials roleCredentials(const Security& security, const std::string& role, const std::string& user) {
  auto in = [](std::string dir, const std::string& file) {
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    return dir + "/" + file;
  };
  RoleCredentials c;
  c.ca = in(security.certs_dir, "ca.pem");
  c.cert = in(security.certs_dir, role + ".pem");
  c.key = in(security.certs_dir, role + "-key.pem");
  c.user = user.empty() ? role : user;
  c.password_file = in(security.secrets_dir.empty() ? security.certs_dir : security.secrets_dir, c.user + ".password");
  return c;
}

namespace {
template <typename T>
const T* findByName(const std::vector<T>& items, const std::string& name) {
  for (const T& item : items) {
    if (item.name == name) return &item;
  }
  return nullptr;
}
}  // namespace

const Machine* Fleet::findMachine(const std::string& name) const { return findByName(machines, name); }
const Agent* Fleet::findAgent(const std::string& name) const { return findByName(agents, name); }
const External* Fleet::findExternal(const std::string& name) const { return findByName(externals, name); }

const Hub* Fleet::findHub(const std::string& name) const {
  for (const Machine& m : machines) {
    if (m.hub.name == name) return &m.hub;
  }
  return nullptr;
}

std::vector<const Hub*> Fleet::hubsFor(const Machine& machine) const {
  std::vector<const Hub*> out;
  for (const NamedRef& ref : machine.prefer) {
    if (const Hub* hub = findHub(ref.name)) out.push_back(hub);
  }
  if (!machine.prefer.empty()) return out;
  out.push_back(&machine.hub);
  for (const Machine& other : machines) {
    if (&other != &machine) out.push_back(&other.hub);
  }
  return out;
}

}  // namespace twinhub::fleet
