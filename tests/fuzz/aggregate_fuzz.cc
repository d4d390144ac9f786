// The fleet aggregate as read from health.aggregate (health_wire/aggregate.h), which
// `twinhubctl status` prints: decodeAggregate() on any bytes, never throwing. What decodes must
// respect the caps and survive encode/decode unchanged. The alert kinds named in open_alerts
// ("kind subject") go through alertKindFromName(), which must only accept names it prints.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "health_wire/aggregate.h"
#include "health_wire/alert.h"

using namespace twinhub::health;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const Decoded<Aggregate> decoded = decodeAggregate(bytes);
  if (!decoded.value) {
    FUZZ_CHECK(decoded.reject != Reject::kNone);
    AlertKind kind;
    const std::string name(bytes.substr(0, 64));
    if (alertKindFromName(name, &kind)) FUZZ_CHECK(name == alertKindName(kind));
    return 0;
  }
  const Aggregate& aggregate = *decoded.value;
  FUZZ_CHECK(size <= kMaxAggregateBytes && aggregate.sidecars.size() <= kMaxAggregateSidecars);
  for (const std::string& alert : aggregate.open_alerts) {
    AlertKind kind;
    const std::string name = alert.substr(0, alert.find(' '));
    if (alertKindFromName(name, &kind)) FUZZ_CHECK(name == alertKindName(kind));
  }
  const Decoded<Aggregate> again = decodeAggregate(encodeAggregate(aggregate));
  FUZZ_CHECK(again.value.has_value());
  FUZZ_CHECK(*again.value == aggregate);
  return 0;
}
