// The demo's report: one self-contained HTML file (inline SVG, no script, no network) with the
// request rate and latency over time, batch flips and faults marked, and the summary tables.
// Pure apart from writing the file; any thread.
#pragma once

#include <string>

#include "demo/demo_result.h"

namespace twinhub::ctl::demo {

std::string reportHtml(const DemoResult& result);
// Writes reportHtml() to `path`; "" on success, else what went wrong.
std::string writeReport(const DemoResult& result, const std::string& path);

}  // namespace twinhub::ctl::demo
