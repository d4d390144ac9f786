#include "hub/hub_state.h"

namespace twinhub {

const char* hubStateName(HubState state) {
  switch (state) {
    case HubState::kDown: return "down";
    case HubState::kSuspect: return "suspect";
    case HubState::kUp: return "up";
  }
  return "?";
}

}  // namespace twinhub
