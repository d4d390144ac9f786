#include "control/flip_policy.h"

namespace twinhub {

const char* flipActionName(FlipAction action) {
  switch (action) {
    case FlipAction::kNone: return "none";
    case FlipAction::kApply: return "apply";
    case FlipAction::kConfirm: return "confirm";
    case FlipAction::kRevert: return "revert";
    case FlipAction::kExpired: return "expired";
  }
  return "?";
}

FlipDecision onDesiredState(const AppliedState& applied, const wire::DesiredState& desired, int64_t now_ms) {
  FlipDecision decision{FlipAction::kNone, applied};
  AppliedState& next = decision.next;
  if (desired.generation == applied.generation) {
    if (desired.confirmed && applied.provisional()) {
      next.provisional_until_ms = 0;
      decision.action = FlipAction::kConfirm;
    }
    return decision;
  }
  if (desired.generation < applied.generation) return decision;
  next.generation = desired.generation;
  next.primary = desired.primary;
  next.reverted = false;
  const bool provisional = !desired.confirmed && desired.provisional_until_ms != 0;
  if (provisional && now_ms >= desired.provisional_until_ms) {
    // Too late to try it: as if it had been applied and reverted.
    next.provisional_until_ms = desired.provisional_until_ms;
    next.reverted = true;
    decision.action = FlipAction::kExpired;
    return decision;
  }
  next.previous_mode = applied.mode;
  next.mode = desired.mode;
  next.provisional_until_ms = provisional ? desired.provisional_until_ms : 0;
  decision.action = FlipAction::kApply;
  return decision;
}

FlipDecision onClock(const AppliedState& applied, int64_t now_ms) {
  FlipDecision decision{FlipAction::kNone, applied};
  if (!applied.provisional() || now_ms < applied.provisional_until_ms) return decision;
  decision.next.mode = applied.previous_mode.empty() ? applied.mode : applied.previous_mode;
  decision.next.reverted = true;
  decision.action = FlipAction::kRevert;
  return decision;
}

}  // namespace twinhub
