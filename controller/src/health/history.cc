#include "health/history.h"

#include <nats/nats.h>

#include "health_wire/health_subjects.h"

namespace twinhub::ctl {

namespace {

struct Js {
  jsCtx* ctx = nullptr;
  ~Js() { jsCtx_Destroy(ctx); }
};

natsStatus jetStream(natsConnection* connection, const HistoryOptions& options, Js* js) {
  jsOptions o;
  jsOptions_Init(&o);
  o.Wait = options.timeout_ms;
  return natsConnection_JetStream(&js->ctx, connection, &o);
}

std::string describe(const char* what, natsStatus s, int code) {
  return std::string(what) + ": " + natsStatus_GetText(s) + (code ? " (JetStream error " + std::to_string(code) + ")" : "");
}

}  // namespace

std::string ensureHistoryStream(natsConnection* connection, const HistoryOptions& options) {
  Js js;
  if (natsStatus s = jetStream(connection, options, &js); s != NATS_OK) return describe("jetstream", s, 0);
  const char* subjects[] = {health::kAlertsSubject, health::kRecoverySubject, health::kAggregateSubject};
  jsStreamConfig config;
  jsStreamConfig_Init(&config);
  config.Name = kHistoryStream;
  config.Subjects = subjects;
  config.SubjectsLen = 3;
  config.Storage = js_FileStorage;
  config.MaxAge = options.retention_ms * 1000000;  // ns
  config.Duplicates = 120LL * 1000000000;          // both copies of a message arrive within this
  jsErrCode code = static_cast<jsErrCode>(0);
  jsStreamInfo* info = nullptr;
  natsStatus s = js_AddStream(&info, js.ctx, &config, nullptr, &code);
  if (s != NATS_OK && code == JSStreamNameExistErr) s = js_UpdateStream(&info, js.ctx, &config, nullptr, &code);
  jsStreamInfo_Destroy(info);
  return s == NATS_OK ? "" : describe("history stream", s, code);
}

std::optional<health::Aggregate> lastStoredAggregate(natsConnection* connection, const HistoryOptions& options,
                                                     std::string* problem) {
  Js js;
  if (natsStatus s = jetStream(connection, options, &js); s != NATS_OK) {
    *problem = describe("jetstream", s, 0);
    return std::nullopt;
  }
  natsMsg* msg = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetLastMsg(&msg, js.ctx, kHistoryStream, health::kAggregateSubject, nullptr, &code);
  if (s != NATS_OK) {
    *problem = describe("last aggregate", s, code);
    return std::nullopt;
  }
  // Stored by some aggregator, but read back as hostile as any other message.
  health::Decoded<health::Aggregate> decoded =
      health::decodeAggregate(std::string_view(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg))));
  natsMsg_Destroy(msg);
  if (!decoded.value) *problem = std::string("stored aggregate refused: ") + decoded.detail;
  return decoded.value;
}

}  // namespace twinhub::ctl
