// FlipPolicy: what a sidecar does with a desired state it reads from a hub, and when a
// provisional flip reverts. Pure: applied state, desired state and the wall clock in; the next
// applied state and what changed out. No I/O, any thread.
//
// - A higher generation is applied. Unless it comes confirmed, it is provisional until its
//   deadline: the controller confirms it (same generation, confirmed=true) after the soak, or the
//   sidecar goes back to its previous mode by itself at the deadline (a controller that died
//   mid-soak cannot leave a batch on an unverified path).
// - A provisional generation whose deadline has already passed when it arrives (a sidecar that
//   was down meanwhile) is recorded as reverted and not applied.
// - Lower generations, repeats, and a confirmation of a reverted generation change nothing: the
//   controller writes a new generation to try again.
#pragma once

#include <cstdint>
#include <string>

#include "control/applied_state.h"
#include "control_wire/desired_state.h"

namespace twinhub {

enum class FlipAction { kNone, kApply, kConfirm, kRevert, kExpired };
const char* flipActionName(FlipAction action);

struct FlipDecision {
  FlipAction action = FlipAction::kNone;
  AppliedState next;
};

FlipDecision onDesiredState(const AppliedState& applied, const wire::DesiredState& desired, int64_t now_ms);
// Reverts a provisional flip whose deadline has passed.
FlipDecision onClock(const AppliedState& applied, int64_t now_ms);

}  // namespace twinhub
