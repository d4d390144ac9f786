// beat_flood: simulated sidecars for the aggregator's scale benchmark (bench/health_scale.sh).
// Publishes valid v1 heartbeats (libtwinhub's encoder) for N sidecars at R beats per second each,
// spread evenly over each period, through one hub connection, for S seconds; each beat carries
// the wall clock at the moment it is published, so the aggregator's sync latency histogram
// measures hub transit plus the aggregator's own queueing.
//
//   beat_flood --url nats://127.0.0.1:4222 --via central --sidecars 1000 --rate 2 --seconds 20
// Prints "flood sent=N late_ms_max=M" at the end (late: how far behind schedule it ran).
#include <nats/nats.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "health_wire/health_subjects.h"
#include "health_wire/heartbeat.h"

namespace {

struct Args {
  std::string url = "nats://127.0.0.1:4222";
  std::string via = "central";
  int sidecars = 1000;
  double rate = 2.0;
  double seconds = 20;
  int machines = 10;
};

bool parse(int argc, char** argv, Args* a) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--url") a->url = v;
    else if (k == "--via") a->via = v;
    else if (k == "--sidecars") a->sidecars = std::atoi(v.c_str());
    else if (k == "--rate") a->rate = std::atof(v.c_str());
    else if (k == "--seconds") a->seconds = std::atof(v.c_str());
    else if (k == "--machines") a->machines = std::atoi(v.c_str());
    else return false;
  }
  return a->sidecars > 0 && a->rate > 0 && a->seconds > 0 && a->machines > 0;
}

twinhub::health::Heartbeat beatFor(int i, const Args& a) {
  twinhub::health::Heartbeat b;
  b.machine = "sim" + std::to_string(i % a.machines);
  b.id = b.machine + ".Agent" + std::to_string(i);
  b.served = {"Agent" + std::to_string(i)};
  b.via = a.via;
  b.interval_ms = static_cast<uint32_t>(1000 / a.rate);
  b.agent.state = twinhub::health::AgentState::kOk;
  b.agent.latency_ms = 0.5;
  b.mode = "hub";
  b.hubs = {{a.via, "up", true}};
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse(argc, argv, &a)) {
    std::fprintf(stderr, "usage: beat_flood --url URL --via HUB --sidecars N --rate HZ --seconds S [--machines M]\n");
    return 2;
  }
  natsConnection* nc = nullptr;
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  natsOptions_SetURL(opts, a.url.c_str());
  natsOptions_SetSendAsap(opts, true);
  if (natsStatus s = natsConnection_Connect(&nc, opts); s != NATS_OK) {
    std::fprintf(stderr, "beat_flood: connect %s: %s\n", a.url.c_str(), natsStatus_GetText(s));
    return 1;
  }
  natsOptions_Destroy(opts);
  std::vector<twinhub::health::Heartbeat> beats;
  for (int i = 0; i < a.sidecars; ++i) beats.push_back(beatFor(i, a));
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto gap = std::chrono::duration<double>(1.0 / (a.rate * a.sidecars));
  const uint64_t total = static_cast<uint64_t>(a.seconds * a.rate * a.sidecars);
  double late_max_ms = 0;
  for (uint64_t n = 0; n < total; ++n) {
    const auto due = start + std::chrono::duration_cast<Clock::duration>(gap * static_cast<double>(n));
    const auto now = Clock::now();
    if (now < due) std::this_thread::sleep_until(due);
    else late_max_ms = std::max(late_max_ms, std::chrono::duration<double, std::milli>(now - due).count());
    twinhub::health::Heartbeat& b = beats[n % beats.size()];
    ++b.seq;
    b.ts_ms = twinhub::health::wallClockMs();
    const std::string data = twinhub::health::encodeHeartbeat(b);
    const std::string subject = twinhub::health::statusSubject(b.machine);
    natsConnection_Publish(nc, subject.c_str(), data.data(), static_cast<int>(data.size()));
  }
  natsConnection_Flush(nc);
  std::printf("flood sent=%llu late_ms_max=%.1f\n", static_cast<unsigned long long>(total), late_max_ms);
  natsConnection_Destroy(nc);
  nats_Close();
  return 0;
}
