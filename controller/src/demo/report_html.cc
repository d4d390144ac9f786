#include "demo/report_html.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>

namespace twinhub::ctl::demo {

namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

constexpr double kWidth = 1100, kLeft = 60, kRight = 20;

struct Axis {
  double t_max;
  double x(double t_ms) const { return kLeft + (kWidth - kLeft - kRight) * t_ms / t_max; }
};

// Faults as shaded spans and batch events as vertical lines, over a panel [top, top + h].
std::string marks(const DemoResult& r, const Axis& a, double top, double h, bool labels) {
  std::string s;
  for (const FaultRecord& f : r.faults) {
    const double x0 = a.x(f.start_ms), x1 = std::max(a.x(f.end_ms), x0 + 2);
    s += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="#d33" opacity="0.18"/>)", x0, top,
                     x1 - x0, h);
    s += fmt::format(R"(<line x1="{0:.1f}" x2="{0:.1f}" y1="{1:.1f}" y2="{2:.1f}" stroke="#d33" stroke-width="1.5"/>)", x0,
                     top, top + h);
    if (labels) {
      s += fmt::format(R"~(<text x="{:.1f}" y="{:.1f}" font-size="10" fill="#a00" transform="rotate(-90 {:.1f} {:.1f})">{}</text>)~",
                       x0 - 2, top + h - 4, x0 - 2, top + h - 4, esc(f.name));
    }
  }
  for (const Mark& m : r.marks) {
    const char* color = m.kind == "rollback" ? "#e80" : m.kind == "confirm" ? "#2a2" : "#26c";
    const double x = a.x(m.t_ms);
    s += fmt::format(R"(<line x1="{0:.1f}" x2="{0:.1f}" y1="{1:.1f}" y2="{2:.1f}" stroke="{3}" stroke-dasharray="3,2"/>)", x,
                     top, top + h, color);
    if (labels) {
      s += fmt::format(R"~(<text x="{:.1f}" y="{:.1f}" font-size="10" fill="{}" transform="rotate(-90 {:.1f} {:.1f})">{}</text>)~",
                       x + 10, top + h - 4, color, x + 10, top + h - 4, esc(m.label));
    }
  }
  return s;
}

std::string polyline(const std::vector<std::pair<double, double>>& pts, const char* color) {
  std::string s = R"(<polyline fill="none" stroke-width="1.5" stroke=")" + std::string(color) + R"(" points=")";
  for (const auto& [x, y] : pts) s += fmt::format("{:.1f},{:.1f} ", x, y);
  return s + "\"/>";
}

std::string chart(const DemoResult& r) {
  const double t_max = std::max(1000.0, r.timeline.empty() ? 1000.0 : r.timeline.back().t_ms + 500);
  const Axis a{t_max};
  double rate_max = 10;
  for (const TimelinePoint& p : r.timeline) rate_max = std::max(rate_max, p.rate);
  rate_max *= 1.1;
  const double rate_top = 20, rate_h = 150, lat_top = 210, lat_h = 230;
  // Latency on a log scale, 0.1 ms .. 10 s.
  auto ly = [&](double ms) {
    const double v = std::log10(std::clamp(ms, 0.1, 10000.0));
    return lat_top + lat_h - (v + 1) / 5 * lat_h;
  };
  std::string s = fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif">)",
                              kWidth, lat_top + lat_h + 40);
  s += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="#fafafa" stroke="#ccc"/>)", kLeft, rate_top,
                   kWidth - kLeft - kRight, rate_h);
  s += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="#fafafa" stroke="#ccc"/>)", kLeft, lat_top,
                   kWidth - kLeft - kRight, lat_h);
  s += marks(r, a, rate_top, rate_h, false);
  s += marks(r, a, lat_top, lat_h, true);
  std::vector<std::pair<double, double>> rate, p50, p99, mx;
  for (const TimelinePoint& p : r.timeline) {
    const double x = a.x(p.t_ms + 250);
    rate.push_back({x, rate_top + rate_h - p.rate / rate_max * rate_h});
    if (p.rate > 0) {
      p50.push_back({x, ly(p.p50_ms)});
      p99.push_back({x, ly(p.p99_ms)});
      mx.push_back({x, ly(p.max_ms)});
    }
    if (p.failed > 0) {
      s += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="4" fill="#d00"><title>{} failed</title></circle>)", x,
                       rate_top + rate_h - 6, p.failed);
    }
  }
  s += polyline(rate, "#333") + polyline(mx, "#bbb") + polyline(p99, "#c60") + polyline(p50, "#06c");
  s += fmt::format(R"(<text x="{}" y="{}" font-size="12">requests/s (max {:.0f})</text>)", kLeft + 4, rate_top - 5, rate_max);
  s += fmt::format(R"(<text x="{}" y="{}" font-size="12">latency per {} ms (log scale): <tspan fill="#06c">p50</tspan> <tspan fill="#c60">p99</tspan> <tspan fill="#999">max</tspan></text>)",
                   kLeft + 4, lat_top - 5, 500);
  for (double ms : {0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0}) {
    s += fmt::format(R"(<text x="{}" y="{:.1f}" font-size="10" text-anchor="end">{} ms</text>)", kLeft - 4, ly(ms) + 3,
                     ms < 1 ? fmt::format("{:.1f}", ms) : fmt::format("{:.0f}", ms));
    s += fmt::format(R"(<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="#eee"/>)", kLeft, kWidth - kRight, ly(ms), ly(ms));
  }
  const double step = t_max > 120000 ? 30000 : t_max > 40000 ? 10000 : 5000;
  for (double t = 0; t <= t_max; t += step) {
    s += fmt::format(R"(<text x="{:.1f}" y="{}" font-size="10" text-anchor="middle">{:.0f} s</text>)", a.x(t),
                     lat_top + lat_h + 14, t / 1000);
  }
  return s + "</svg>";
}

std::string ms(const std::optional<double>& v) { return v ? fmt::format("{:.0f} ms", *v) : "not detected"; }

}  // namespace

std::string reportHtml(const DemoResult& r) {
  std::string h = R"(<!doctype html><html><head><meta charset="utf-8"><title>twinhub demo report</title><style>
body{font-family:sans-serif;margin:24px;color:#222} table{border-collapse:collapse;margin:8px 0 20px}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right;max-width:380px} td:first-child,th:first-child{text-align:left}
.faults{font-size:85%} .faults td:last-child{text-align:left;max-width:240px}
.pass{color:#080;font-weight:bold} .fail{color:#c00;font-weight:bold}</style></head><body>)";
  h += "<h1>twinhub demo report</h1>";
  h += fmt::format("<p>{} run: {} agents behind their sidecars, {} simulated mainpc callers, network: {}. Whole run {:.1f} s. ",
                   r.short_run ? "Short" : "Full", r.agents, r.callers, esc(r.mode), r.total_s);
  h += r.problems.empty() ? "<span class=pass>PASS</span>" : "<span class=fail>FAIL</span>";
  h += "</p>";
  for (const std::string& p : r.problems) h += "<p class=fail>" + esc(p) + "</p>";
  for (const std::string& t : r.targets_missed) h += "<p class=fail>target not met: " + esc(t) + "</p>";
  h += "<h2>Requests over time</h2><p>Red spans: faults (injected to healed). Dashed lines: batch flips (blue), "
       "confirmations (green), the rollback (orange). Red dots: requests that got no reply.</p>";
  h += chart(r);
  h += "<h2>Requests</h2><table><tr><th>sent</th><th>answered</th><th>failed</th><th>lost</th><th>served twice</th>"
       "<th>served (ledgers)</th><th>unique ids (ledgers)</th></tr>";
  h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>",
                   r.load.sent, r.load.answered, r.load.failed, r.lost, r.served_twice, r.ledgers.served, r.ledgers.unique_ids);
  h += "<h2>Faults</h2><table class=faults><tr><th>fault</th><th>at</th><th>healed</th><th>detected by</th><th>detection</th>"
       "<th>requests in flight at the fault</th><th>longest stall</th><th>failed</th><th>alert</th></tr>";
  for (const FaultRecord& f : r.faults) {
    h += fmt::format(
        "<tr><td>{}</td><td>{:.1f} s</td><td>{:.1f} s</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0f} ms</td><td>{}</td>"
        "<td style='text-align:left'>{}</td></tr>",
        esc(f.name), f.start_ms / 1000, f.end_ms / 1000, esc(f.expect), ms(f.detection_ms), f.in_flight_at_start,
        f.longest_stall_ms, f.failed, esc(f.detected_by));
  }
  h += "</table><h2>Batches</h2><table><tr><th>batch</th><th>attempt</th><th>outcome</th><th>time</th><th>flip reported</th></tr>";
  for (const BatchRecord& b : r.batches) {
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1f} s</td><td>{}</td></tr>", esc(b.name), b.attempt,
                     esc(b.outcome), (b.end_ms - b.start_ms) / 1000,
                     b.flip_ms >= 0 ? fmt::format("{:.0f} ms", b.flip_ms) : std::string("-"));
  }
  auto bound = [](const std::optional<double>& v) { return v ? fmt::format("{:.1f} ms", *v) : std::string("&gt; 1 s"); };
  h += fmt::format("</table><p>Rollback (breach to the batch back in direct mode): {}.</p><p>Health sync (heartbeat "
                   "to aggregator, histogram bounds): before the faults {} beats, p50 &le; {}, p99 &le; {}; whole run "
                   "{} beats, p50 &le; {}, p99 &le; {}.</p>",
                   r.rollback_ms ? fmt::format("{:.0f} ms", *r.rollback_ms) : std::string("none"), r.steady_sync_beats,
                   bound(r.steady_sync_p50_ms), bound(r.steady_sync_p99_ms), r.sync_beats, bound(r.sync_p50_ms),
                   bound(r.sync_p99_ms));
  h += fmt::format("<h2>Memory</h2><p>{} sidecars together {:.1f} MB RSS.</p><table><tr><th>sidecar</th><th>RSS</th></tr>",
                   r.sidecar_rss.size(), r.rss_total / 1e6);
  for (const auto& [id, rss] : r.sidecar_rss) h += fmt::format("<tr><td>{}</td><td>{:.1f} MB</td></tr>", esc(id), rss / 1e6);
  h += "</table><h2>Plan</h2><pre>" + esc(r.plan_as_planned) + "</pre></body></html>\n";
  return h;
}

std::string writeReport(const DemoResult& result, const std::string& path) {
  std::ofstream out(path, std::ios::trunc);
  out << reportHtml(result);
  out.flush();
  return out ? "" : "cannot write " + path;
}

}  // namespace twinhub::ctl::demo
