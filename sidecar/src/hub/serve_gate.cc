#include "hub/serve_gate.h"

#include <spdlog/spdlog.h>

#include "wire/subjects.h"

namespace twinhub {

void ServeGate::serve(const std::string& service, const NetAddress& agent) {
  service_ = service;
  agent_ = agent;
}

std::string ServeGate::openSubject(const std::string& service) const {
  return wire::serviceOpenSubject(subject_prefix_, service);
}

void ServeGate::setServing(bool serving) {
  if (!service_ || serving == serving_ || closed_) return;
  serving_ = serving;
  if (serving) {
    hubs_.subscribeAll(tag_, openSubject(*service_), wire::subjectToken(*service_));
    spdlog::info("serving {} through the hubs", *service_);
  } else {
    hubs_.unsubscribeAll(tag_);
    spdlog::warn("no longer serving {}: new sessions go to other replicas", *service_);
  }
}

std::optional<ServeGate::Refusal> ServeGate::admit(size_t open_sessions) const {
  if (!serving_ || !service_ || closed_) return Refusal{"not_serving", "not serving"};
  if (open_sessions >= max_sessions_) return Refusal{"capacity", "over capacity"};
  return std::nullopt;
}

}  // namespace twinhub
