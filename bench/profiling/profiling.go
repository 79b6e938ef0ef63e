package profiling

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grafana/pyroscope-go"

	"github.com/raftbench/raftbench/raft/node"
)

// ProfileType names a profile Pyroscope receives.
type ProfileType string

// Profile types.
const (
	CPU           ProfileType = "cpu"
	AllocObjects  ProfileType = "alloc_objects"
	AllocSpace    ProfileType = "alloc_space"
	InuseObjects  ProfileType = "inuse_objects"
	InuseSpace    ProfileType = "inuse_space"
	Goroutines    ProfileType = "goroutines"
	MutexCount    ProfileType = "mutex_count"
	MutexDuration ProfileType = "mutex_duration"
	BlockCount    ProfileType = "block_count"
	BlockDuration ProfileType = "block_duration"
)

// DefaultProfileTypes are all of them.
var DefaultProfileTypes = []ProfileType{CPU, AllocObjects, AllocSpace, InuseObjects, InuseSpace,
	Goroutines, MutexCount, MutexDuration, BlockCount, BlockDuration}

// pyroscopeTypes maps ours to pyroscope-go's (whose goroutine profile is
// "goroutine").
var pyroscopeTypes = map[ProfileType]pyroscope.ProfileType{
	CPU: pyroscope.ProfileCPU, AllocObjects: pyroscope.ProfileAllocObjects, AllocSpace: pyroscope.ProfileAllocSpace,
	InuseObjects: pyroscope.ProfileInuseObjects, InuseSpace: pyroscope.ProfileInuseSpace,
	Goroutines: pyroscope.ProfileGoroutines, MutexCount: pyroscope.ProfileMutexCount,
	MutexDuration: pyroscope.ProfileMutexDuration, BlockCount: pyroscope.ProfileBlockCount,
	BlockDuration: pyroscope.ProfileBlockDuration,
}

// The runtime's sampling rates while a Profiler runs with mutex or block
// profiles.
//
// Mutex: one contention event in DefaultMutexProfileFraction is recorded
// (a stack walk of about a microsecond, when an unlock finds waiters).
// Uncontended locks cost nothing; this process contends rarely (the
// node's status lock, the answer queues of the load generator), so even
// every event would be cheap, and one in ten is plenty for a profile.
//
// Block: Go records a blocking event (a channel operation, select,
// sync.Cond, a mutex wait) with probability duration/rate, so events
// longer than the rate are always recorded. The node's goroutines block on
// channels at every wake-up, tens of thousands of times a second under
// load, almost all briefly: a rate of 1 µs or 10 µs would walk a stack on
// nearly every one of them, several percent of a core. At 1 ms an event
// in the hot path (tens of µs) is recorded once in ~50 or more, and the
// long idle waits are recorded once each; the profile still shows where
// the time blocked goes, at about a hundredth of the cost
// (profiling-cost measures the whole).
const (
	DefaultMutexProfileFraction = 10
	DefaultBlockProfileRate     = int(time.Millisecond) // nanoseconds
)

// Config describes a profiler.
type Config struct {
	// ServerURL is the Pyroscope server, e.g. http://127.0.0.1:4040.
	ServerURL string
	// AppName is the application name (Pyroscope's service_name).
	// Default "raftbench".
	AppName string
	// Tags are static tags on every profile (see StaticTagKeys).
	Tags map[string]string
	// ProfileTypes to push. Default DefaultProfileTypes.
	ProfileTypes []ProfileType
	// Logger receives the first push failure (one line). Default
	// slog.Default().
	Logger *slog.Logger

	// UploadInterval is how often profiles are pushed. Default 15s.
	UploadInterval time.Duration
	// PushTimeout bounds one push. Default 5s.
	PushTimeout time.Duration
	// StopTimeout bounds Stop's last push. Default 10s.
	StopTimeout time.Duration
	// MutexProfileFraction and BlockProfileRate (ns) while profiling: 0
	// means the default, negative leaves the runtime's setting alone.
	MutexProfileFraction int
	BlockProfileRate     int
}

// Profiler pushes profiles until Stop.
type Profiler struct {
	p        *pyroscope.Profiler
	log      *failLogger
	cfg      Config
	stopOnce sync.Once

	mutexSet, blockSet bool
	prevMutex          int
}

var appNameRE = regexp.MustCompile(`^[a-zA-Z0-9_./-]+$`)

// ParseServerURL checks a Pyroscope server URL: http or https with a host.
func ParseServerURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("pyroscope server URL %q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("pyroscope server URL %q: want http://HOST:PORT or https://HOST[:PORT]", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("pyroscope server URL %q: no query or fragment, please", s)
	}
	return u, nil
}

func (cfg *Config) validate() error {
	if _, err := ParseServerURL(cfg.ServerURL); err != nil {
		return err
	}
	if cfg.AppName == "" {
		cfg.AppName = "raftbench"
	}
	if !appNameRE.MatchString(cfg.AppName) {
		return fmt.Errorf("pyroscope application name %q: want letters, digits and _ . / -", cfg.AppName)
	}
	if err := ValidateTags(cfg.Tags); err != nil {
		return err
	}
	if len(cfg.ProfileTypes) == 0 {
		cfg.ProfileTypes = DefaultProfileTypes
	}
	for _, t := range cfg.ProfileTypes {
		if _, ok := pyroscopeTypes[t]; !ok {
			return fmt.Errorf("profile type %q: want one of %v", t, DefaultProfileTypes)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.UploadInterval <= 0 {
		cfg.UploadInterval = 15 * time.Second
	}
	if cfg.PushTimeout <= 0 {
		cfg.PushTimeout = 5 * time.Second
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	if cfg.MutexProfileFraction == 0 {
		cfg.MutexProfileFraction = DefaultMutexProfileFraction
	}
	if cfg.BlockProfileRate == 0 {
		cfg.BlockProfileRate = DefaultBlockProfileRate
	}
	return nil
}

func (cfg *Config) wants(types ...ProfileType) bool {
	for _, t := range cfg.ProfileTypes {
		for _, w := range types {
			if t == w {
				return true
			}
		}
	}
	return false
}

// Start validates cfg and starts pushing profiles.
func Start(cfg Config) (*Profiler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &Profiler{cfg: cfg, log: &failLogger{log: cfg.Logger, url: cfg.ServerURL}}
	if cfg.MutexProfileFraction > 0 && cfg.wants(MutexCount, MutexDuration) {
		p.prevMutex = runtime.SetMutexProfileFraction(cfg.MutexProfileFraction)
		p.mutexSet = true
	}
	if cfg.BlockProfileRate > 0 && cfg.wants(BlockCount, BlockDuration) {
		runtime.SetBlockProfileRate(cfg.BlockProfileRate)
		p.blockSet = true
	}
	types := make([]pyroscope.ProfileType, len(cfg.ProfileTypes))
	for i, t := range cfg.ProfileTypes {
		types[i] = pyroscopeTypes[t]
	}
	tags := make(map[string]string, len(cfg.Tags))
	for k, v := range cfg.Tags {
		tags[k] = v
	}
	node.EnableProfileLabels(true)
	pp, err := pyroscope.Start(pyroscope.Config{
		ApplicationName: cfg.AppName,
		ServerAddress:   cfg.ServerURL,
		Tags:            tags,
		ProfileTypes:    types,
		UploadRate:      cfg.UploadInterval,
		Logger:          p.log,
		HTTPClient:      &http.Client{Timeout: cfg.PushTimeout},
	})
	if err != nil {
		p.restore()
		return nil, fmt.Errorf("pyroscope: %w", err)
	}
	p.p = pp
	return p, nil
}

// Stop pushes what was collected since the last push, stops, turns the
// node labels off and restores the runtime's sampling rates. It returns
// within StopTimeout; a last push that takes longer is abandoned.
func (p *Profiler) Stop() error {
	var err error
	p.stopOnce.Do(func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			p.p.Flush(true)
			p.p.Stop()
		}()
		select {
		case <-done:
		case <-time.After(p.cfg.StopTimeout):
			err = fmt.Errorf("pyroscope: the last push to %s did not finish within %v", p.cfg.ServerURL, p.cfg.StopTimeout)
		}
		p.restore()
	})
	return err
}

func (p *Profiler) restore() {
	node.EnableProfileLabels(false)
	if p.mutexSet {
		runtime.SetMutexProfileFraction(p.prevMutex)
	}
	if p.blockSet {
		// The runtime has no getter for the block rate: 0 is its default.
		runtime.SetBlockProfileRate(0)
	}
}

// Failures counts the push failures (and other errors pyroscope-go
// reported) so far.
func (p *Profiler) Failures() int64 { return p.log.failures.Load() }

// Err is the first failure pyroscope-go reported, if any.
func (p *Profiler) Err() error {
	if e := p.log.first.Load(); e != nil {
		return *e
	}
	return nil
}

// failLogger is pyroscope-go's logger: its informational lines are
// dropped, and of its errors (a failed push every interval and profile
// type while the server is down) only the first is logged.
type failLogger struct {
	log      *slog.Logger
	url      string
	failures atomic.Int64
	first    atomic.Pointer[error]
}

func (l *failLogger) Infof(string, ...any)  {}
func (l *failLogger) Debugf(string, ...any) {}
func (l *failLogger) Errorf(format string, args ...any) {
	if l.failures.Add(1) != 1 {
		return
	}
	err := errors.New(fmt.Sprintf(format, args...))
	l.first.Store(&err)
	l.log.Warn("pyroscope: pushing profiles failed; the run goes on, and further failures are not logged", "url", l.url, "err", err)
}
