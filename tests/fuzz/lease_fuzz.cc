// The controller's lease as read from the desired-state bucket (migrate/lease.h): decodeLease()
// on any bytes. What decodes must encode to a lease that decodes to the same value, and a pid is
// only kept together with its scope.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "migrate/lease.h"

using namespace twinhub::ctl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::optional<Lease> lease = decodeLease(bytes);
  if (!lease) return 0;
  FUZZ_CHECK(lease->pid >= 0);
  FUZZ_CHECK((lease->pid == 0) == lease->scope.empty());
  const std::optional<Lease> again = decodeLease(encodeLease(*lease));
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(*again == *lease);
  return 0;
}
