// Package report records the latencies and errors of a load run, writes the
// run's result directory, reads reports back and compares runs.
//
// # Recording
//
// Each load-generator worker owns one Recorder (a Recorder is not safe for
// concurrent use). For every successful operation the worker calls
// Record(at, latency), where at is the time the operation was intended to
// start (in an open-loop run, its scheduled send time) and latency is measured
// from at, so a stall shows up in the latencies instead of being hidden by
// coordinated omission. For every failed operation it calls Error(at, kind)
// with a kind such as "timeout", "not_leader", "dropped" or "failed"; failed
// operations are counted, not put in the latency histogram.
//
// A Recorder keeps an HDR histogram of all latencies (microseconds, 1 µs to
// 60 s, 3 significant digits; values are truncated to whole microseconds and
// clamped to that range), one histogram per second since the measurement start
// for the time series, and error counts by kind and by second. Record does
// not allocate (except once per elapsed second). Nothing keeps individual
// samples: at the end the workers' Recorders are merged with Merge, and
// merging is exact (the merged percentiles are those of recording every sample
// into one Recorder). Memory is bounded: at most SeriesMaxSeconds seconds of
// series and ErrorKindsMax distinct error kinds (more become "other").
//
// # The run directory
//
// Recorder.WriteDir (or the function WriteDir for histograms built
// elsewhere) writes:
//
//   - report.json: the Report, described below.
//   - latency.hgrm: the percentile distribution of all latencies, as
//     HdrHistogram prints it (columns Value, Percentile, TotalCount,
//     1/(1-Percentile), then a footer with Mean, StdDeviation, Max and Total
//     count). Values are in milliseconds, the unit the HdrHistogram plotter
//     expects.
//   - latency.hlog: an HdrHistogram interval log (format 1.3), one interval
//     histogram per second that has samples. Histogram values are in
//     microseconds; the Interval_Max column is therefore in seconds (the
//     library scales it by 10^6). StartTime is the measurement start, BaseTime
//     that start truncated to the second, and interval timestamps are relative
//     to BaseTime.
//   - bench.txt: the run as one Go benchmark result, after goos/goarch/pkg
//     header lines and unit metadata, so that benchstat compares runs:
//     "BenchmarkRun/<name> <ops> <x> ns/op <x> ops/s <x> p50-µs <x> p90-µs
//     <x> p99-µs <x> p99.9-µs <x> max-µs <x> errors", where ns/op is the
//     duration divided by the operation count. Concatenate the bench.txt of
//     repeated runs to give benchstat several samples.
//
// WriteDir never overwrites: if the directory already holds any of these files
// it returns an error wrapping ErrExists and writes nothing. report.json is
// written last, so its presence means the directory is complete.
//
// # report.json (schema raftbench/run/v1)
//
// An object with these fields:
//
//   - schema (string): always "raftbench/run/v1". Readers reject other values.
//   - name (string, optional): the run's name, used in bench.txt and by
//     comparisons.
//   - config (any JSON value, optional): the run's configuration exactly as the
//     load generator passed it (workload, cluster, flags). Load returns it as a
//     json.RawMessage.
//   - start, end (string, RFC 3339 with nanoseconds): the measurement
//     window. An operation recorded with an intended start before start
//     counts in the first second of the series.
//   - duration_sec (number): end - start, in seconds.
//   - ops (integer): successful operations measured.
//   - errors (object: kind -> integer): failed operations by kind; kinds
//     include "timeout" (no answer in time), "not_leader" (rejected by a
//     node that is not the leader), "dropped" (never sent: the client queue
//     was full), "failed" (any other failure) and "other" (kinds beyond the
//     limit of distinct kinds).
//   - throughput_ops_per_sec (number): ops / duration_sec.
//   - latency_us (object): latency of successful operations in microseconds:
//     p50, p90, p99, p999 (the 99.9th percentile), max and min (integers; the
//     highest value equivalent to the percentile at HDR precision, 3
//     significant digits) and mean (number). All zero when ops is 0.
//   - start_lag_us (object, open-loop runs only): how late requests were
//     sent after their intended times, in microseconds, with the fields of
//     latency_us. It is part of every latency (measured from the intended
//     time); a large lag means the load generator fell behind, not the
//     cluster.
//   - by_op (object, optional: "read" and/or "write" -> object): each kind
//     of operation's own figures, for runs whose load generator reports
//     them (raftbench run does): ops and errors (integers: successful and
//     failed operations of that kind), throughput_ops_per_sec, and
//     latency_us (the fields of latency_us, for that kind alone). A mixed
//     workload's overall percentiles hide that writes wait for a disk and
//     reads do not: these show each.
//   - resources (object, optional): what the run's process used:
//     cpu_seconds (user + system CPU during the measured phase),
//     cpu_seconds_per_100k_ops, and max_rss_bytes (the peak resident set
//     over the whole run). An in-process cluster shares the process with
//     the load generator, whose share is included.
//   - disk (object, optional; engines that see their group commits, fsync
//     on): fsyncs (integer: group commits synced over all nodes in the
//     measured phase), fsyncs_per_sec, entries_per_fsync (numbers) and
//     fsync_us (the time of each fdatasync, with the fields of latency_us).
//     With fsync on, a write commits only once the leader's and a quorum's
//     fdatasync have returned: these times bound its latency from below.
//   - cpu_profile (object, optional; runs with --profile): the measured
//     phase's CPU profile divided among the parts of the process by
//     package bench/cpusplit: profiled_sec (the CPU time sampled), sec and
//     us_per_op (objects keyed by part: engine, state_machine,
//     log_storage, load, gc, runtime; seconds, and microseconds per
//     successful operation). The parts add up to profiled_sec, which is
//     close to resources.cpu_seconds.
//   - series (array): one point per second from start, covering the whole
//     duration and any later second that has samples, empty seconds included.
//     Each point has t (integer: seconds since start; the point covers
//     [start+t s, start+t+1 s) of intended start times), ops and errors
//     (integers: operations intended in that second that succeeded or failed)
//     and p50_us and p99_us (integers: the second's latency percentiles in
//     microseconds, 0 when it has no successful operation).
//
// A new field may be added to v1 (readers must ignore unknown fields); any
// change of meaning makes a new version, "raftbench/run/v2".
//
// # Reading and comparing
//
// Load reads a report from a run directory or a report.json file and returns
// a one-line error for a missing file, a file that is not JSON, JSON that is
// not a raftbench report (ErrNotReport) and a report of another kind or
// version (ErrSchema). Compare writes a table of throughput and latency
// percentiles of several runs, each with its ratio to the first run, as
// aligned text, a Markdown table or CSV.
package report
