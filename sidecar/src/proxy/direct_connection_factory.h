// DirectConnectionFactory: makes direct-mode connections (client socket joined to a socket to the
// agent). Loop thread only.
#pragma once

#include "proxy/connection.h"
#include "proxy/front.h"

namespace twinhub {

class DirectConnectionFactory : public ConnectionFactory {
 public:
  explicit DirectConnectionFactory(ProxyContext& context) : context_(context) {}
  FrontConnection* create(const FrontSettings& settings, std::shared_ptr<FrontStats> stats,
                          ConnectionOwner& owner) override {
    return new Connection(context_, settings.connection, std::move(stats), owner);
  }

 private:
  ProxyContext& context_;
};

}  // namespace twinhub
