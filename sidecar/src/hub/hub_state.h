// HubState: how a sidecar sees one hub. Down: no connection. Suspect: connected, but its echo
// probes stopped coming back (a frozen hub). Up: probes come back.
#pragma once

namespace twinhub {

enum class HubState { kDown = 0, kSuspect = 1, kUp = 2 };
const char* hubStateName(HubState state);

}  // namespace twinhub
