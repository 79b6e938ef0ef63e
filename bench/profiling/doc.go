// Package profiling streams continuous profiles of the process to a
// Pyroscope server (github.com/grafana/pyroscope-go): CPU, allocations and
// live heap (objects and bytes), goroutines, mutex contention and blocking,
// pushed every UploadInterval by background goroutines.
//
// # Contract
//
//   - Start validates everything it is given (server URL, application
//     name, tag keys and values, profile types) and returns a clear error
//     for a malformed one before anything runs.
//   - A push never stops or slows the run: profiles are collected and
//     uploaded on pyroscope-go's own goroutines, through a bounded queue
//     that drops rather than waits, with a per-push HTTP timeout. The first
//     failure (server down, refused, an error status, a full queue) is
//     logged as one line; later ones are counted (Failures), not logged.
//   - Stop pushes what was collected since the last push and returns
//     within StopTimeout whatever the server does.
//   - While a Profiler runs, raft/node's pprof labels are on (node, role,
//     phase: node.ProfileLabelKeys), and Pyroscope turns them into tags of
//     the CPU and goroutine profiles. Go records no goroutine labels in
//     heap, mutex and block profiles: those carry only the static tags.
//   - Start sets the runtime's mutex and block sampling rates (see
//     DefaultMutexProfileFraction and DefaultBlockProfileRate for what they
//     cost); Stop restores them.
//
// Static tags: the toolkit tags every profile with run_id, engine and
// workload (StaticTagKeys); users add their own (ParseTags).
package profiling
