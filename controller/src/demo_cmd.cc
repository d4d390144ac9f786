// `twinhubctl demo`: the CLI side of demo/demo_run.h.
#include <CLI/CLI.hpp>

#include "commands.h"
#include "demo/demo_run.h"

namespace twinhub::ctl {

void addDemo(CLI::App& app, demo::DemoOptions& options, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "demo", "The whole migration on this machine under load, with hub, agent and link faults; a summary and an HTML report");
  options.fleet_dir = TWINHUB_FLEET_DIR;
  options.gen_certs = TWINHUB_GEN_CERTS;
  cmd->add_flag("--short", options.short_run, "Fewer agents and shorter phases, the same faults (under 60 s; the test suite runs it)");
  cmd->add_option("--report", options.report_path, "Where to write the HTML report (default: <run dir>/report.html)");
  cmd->add_flag("--json", options.json, "Print the summary as one JSON object on stdout (progress goes to stderr)");
  cmd->add_option("--fleet-dir", options.fleet_dir, "Where reference.yaml and reference-as-planned.yaml are")->capture_default_str();
  cmd->add_option("--run-dir", options.run_dir, "Logs, configs and ledgers (default: a new /tmp/twinhub-demo-XXXXXX)");
  cmd->add_option("--port-shift", options.port_shift, "Added to every agent port of the reference fleet (0: their real ports)")
      ->check(CLI::Range(-7000, 40000))
      ->capture_default_str();
  cmd->add_option("--hub-port-base", options.hub_port_base,
                  "central's client port; edge +1, monitors +4000 and +4001, central's leaf port +3200")
      ->check(CLI::Range(1024, 60000))
      ->capture_default_str();
  cmd->add_flag("--plain-hubs", options.plain_hubs,
                "Hubs without TLS and users, as deploy/nats/central.conf and edge.conf (a quick look); by default they "
                "require TLS with client certificates and a user per role, made in <run dir>/certs");
  cmd->add_option("--gen-certs", options.gen_certs, "The script that makes the CA, certificates and passwords")
      ->capture_default_str();
  cmd->callback([&] { exit_code = demo::runDemo(options); });
}

}  // namespace twinhub::ctl
