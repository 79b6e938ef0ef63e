// Package dashboards holds Grafana dashboards as plain JSON, with tests
// that check them against the code: profiles.json shows the continuous
// profiles that `raftbench run` and `raftbench election` push to Pyroscope
// (--pyroscope-url), as flame graphs filtered by the application, the
// static tags (bench/profiling.StaticTagKeys) and the nodes' goroutine
// labels (raft/node.ProfileLabelKeys: node, role, phase). The panels read a
// Pyroscope data source whose uid is "pyroscope".
package dashboards
