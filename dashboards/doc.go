// Package dashboards holds Grafana dashboards as plain JSON, with tests
// that check them against the code: profiles.json shows the continuous
// profiles that `raftbench run` and `raftbench election` push to Pyroscope
// (--pyroscope-url), as flame graphs filtered by the application, the
// static tags (bench/profiling.StaticTagKeys) and the nodes' goroutine
// labels (raft/node.ProfileLabelKeys: node, role, phase). The panels read a
// Pyroscope data source whose uid is "pyroscope".
//
// raft-overview.json shows the Prometheus metrics that --metrics-addr
// serves (bench/metrics): the nodes' term, role, commit and applied index,
// proposals, entries per append and per message, fsync latency, in-flight
// AppendEntries per follower, elections, leader changes and snapshots, and
// the load generator's ops, errors by kind and latency. Its panels read a
// Prometheus data source whose uid is "prometheus". The test parses every
// dashboard's PromQL and checks each metric, label and literal label value
// it names against what the code exports (gathered from a running
// cluster), and that every metric the code exports has a panel.
//
// provisioning/ holds Grafana provisioning files for both data sources
// and for loading this directory's dashboards; prometheus.yml is a scrape
// configuration for `raftbench run --metrics-addr 127.0.0.1:9100`.
package dashboards
