// ProbeEndpoints: GET /healthz (200 while the process serves HTTP) and GET /readyz (200 or 503
// from a ReadinessState, with the reason as the body) on the /metrics listener, for container
// and Kubernetes probes.
//
// prometheus-cpp's Exposer hides its CivetServer, so the handlers hook civetweb's begin_request
// callback, which carries no user pointer: the listening port finds the ReadinessState in a
// process-wide table (the one piece of shared state here; the Exposer of each Metrics is a
// different port). Threads: begin_request runs on civetweb's threads; bind()/unbind() on the
// owner's.
#pragma once

#include <memory>

#include "metrics/readiness.h"

struct CivetCallbacks;

namespace twinhub {

class ProbeEndpoints {
 public:
  explicit ProbeEndpoints(std::shared_ptr<const ReadinessState> readiness);
  ~ProbeEndpoints();
  ProbeEndpoints(const ProbeEndpoints&) = delete;
  ProbeEndpoints& operator=(const ProbeEndpoints&) = delete;

  // For the Exposer's constructor; the handlers answer only once bind() named the port.
  const CivetCallbacks* callbacks() const { return callbacks_.get(); }
  void bind(int port);

 private:
  std::shared_ptr<const ReadinessState> readiness_;
  std::unique_ptr<CivetCallbacks> callbacks_;
  int port_ = -1;
};

}  // namespace twinhub
