// Package profilingtest receives profiles as a Pyroscope server's ingest
// API does (POST /ingest, a multipart form holding a pprof profile), and
// decodes them enough to check them: sample types, Samples and their
// labels, the application name and its tags. Tests push to it instead of a
// server; cmd/profilesink serves it to measure the cost of profiling.
package profilingtest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"
)

// Sample is one pprof sample: its values and labels.
type Sample struct {
	Values []int64
	Labels map[string]string
}

// Profile is what the tests read of a pprof profile.
type Profile struct {
	SampleTypes []string // "type/unit"
	Samples     []Sample
}

// ParsePprof decodes a gzipped pprof profile (profile.proto): its sample
// types and its Samples with their string labels. It checks the framing
// of every field it passes over.
func ParsePprof(data []byte) (*Profile, error) {
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return nil, fmt.Errorf("not gzip (starts %x)", data[:min(len(data), 4)])
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	var (
		strs    []string
		types   [][2]int64
		samples []struct {
			values []int64
			labels [][2]int64
		}
	)
	err = fields(raw, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
		switch num {
		case 1: // sample_type
			var vt [2]int64
			err := fields(b, func(n protowire.Number, _ protowire.Type, v uint64, _ []byte) error {
				if n == 1 || n == 2 {
					vt[n-1] = int64(v)
				}
				return nil
			})
			types = append(types, vt)
			return err
		case 2: // sample
			var s struct {
				values []int64
				labels [][2]int64
			}
			err := fields(b, func(n protowire.Number, t protowire.Type, v uint64, b []byte) error {
				switch {
				case n == 2 && t == protowire.BytesType: // packed values
					for len(b) > 0 {
						x, k := protowire.ConsumeVarint(b)
						if k < 0 {
							return protowire.ParseError(k)
						}
						s.values, b = append(s.values, int64(x)), b[k:]
					}
				case n == 2:
					s.values = append(s.values, int64(v))
				case n == 3: // label
					var l [2]int64
					err := fields(b, func(n protowire.Number, _ protowire.Type, v uint64, _ []byte) error {
						if n == 1 || n == 2 {
							l[n-1] = int64(v)
						}
						return nil
					})
					if err != nil {
						return err
					}
					s.labels = append(s.labels, l)
				}
				return nil
			})
			samples = append(samples, s)
			return err
		case 6: // string_table
			strs = append(strs, string(b))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	str := func(i int64) (string, error) {
		if i < 0 || i >= int64(len(strs)) {
			return "", fmt.Errorf("string index %d out of %d", i, len(strs))
		}
		return strs[i], nil
	}
	p := &Profile{}
	for _, vt := range types {
		t, err1 := str(vt[0])
		u, err2 := str(vt[1])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("sample type: %v %v", err1, err2)
		}
		p.SampleTypes = append(p.SampleTypes, t+"/"+u)
	}
	if len(p.SampleTypes) == 0 {
		return nil, fmt.Errorf("no sample types")
	}
	for _, s := range samples {
		if len(s.values) != len(p.SampleTypes) {
			return nil, fmt.Errorf("a sample has %d values for %d sample types", len(s.values), len(p.SampleTypes))
		}
		out := Sample{Values: s.values, Labels: map[string]string{}}
		for _, l := range s.labels {
			k, err1 := str(l[0])
			v, err2 := str(l[1])
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("label: %v %v", err1, err2)
			}
			if v != "" { // numeric labels have no string
				out.Labels[k] = v
			}
		}
		p.Samples = append(p.Samples, out)
	}
	return p, nil
}

// fields calls f for every field of a protobuf message: varints with v,
// length-delimited ones with b.
func fields(b []byte, f func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var (
			v   uint64
			val []byte
		)
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			val, n = protowire.ConsumeBytes(b)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(b)
		case protowire.Fixed32Type:
			var x uint32
			x, n = protowire.ConsumeFixed32(b)
			v = uint64(x)
		default:
			return fmt.Errorf("field %d: unexpected wire type %d", num, typ)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := f(num, typ, v, val); err != nil {
			return err
		}
	}
	return nil
}

// Push is one upload as the receiver got it.
type Push struct {
	App     string            // the application name, before its tags
	Tags    map[string]string // the tags of the name parameter
	Query   url.Values
	Profile *Profile
}

// Receiver accepts Pyroscope's ingest API as pyroscope-go uses it: POST
// /ingest?name=APP{k=v,...}&from=..&until=..&spyName=.., a multipart form
// with the pprof profile in the "profile" file field (and an optional
// "sample_type_config"). It answers 200, or 400 for a push it cannot
// read, or Status if that is set.
type Receiver struct {
	Status int // answer every push with this status (0: decode it and answer 200)

	mu     sync.Mutex
	pushes []Push
	errs   []error
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if r.Status != 0 {
		http.Error(w, "receiver told to fail", r.Status)
		return
	}
	p, err := parse(req)
	r.mu.Lock()
	if err != nil {
		r.errs = append(r.errs, err)
	} else {
		r.pushes = append(r.pushes, p)
	}
	r.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
	}
}

// Pushes returns the pushes received so far.
func (r *Receiver) Pushes() []Push {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Push(nil), r.pushes...)
}

// Errors returns why pushes were refused.
func (r *Receiver) Errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

// parse reads one push.
func parse(req *http.Request) (Push, error) {
	var p Push
	if req.Method != http.MethodPost || req.URL.Path != "/ingest" {
		return p, fmt.Errorf("%s %s: want POST /ingest", req.Method, req.URL.Path)
	}
	p.Query = req.URL.Query()
	name := p.Query.Get("name")
	app, tags, ok := strings.Cut(name, "{")
	if !ok || !strings.HasSuffix(tags, "}") {
		return p, fmt.Errorf("name %q: want APP{k=v,...}", name)
	}
	p.App, p.Tags = app, map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(tags, "}"), ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, fmt.Errorf("name %q: tag %q", name, kv)
		}
		p.Tags[k] = v
	}
	for _, q := range []string{"from", "until", "spyName"} {
		if p.Query.Get(q) == "" {
			return p, fmt.Errorf("no %s parameter", q)
		}
	}
	mr, err := req.MultipartReader()
	if err != nil {
		return p, err
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return p, err
		}
		if part.FormName() == "profile" {
			data, err := io.ReadAll(part)
			if err != nil {
				return p, err
			}
			if p.Profile, err = ParsePprof(data); err != nil {
				return p, fmt.Errorf("profile of %s: %w", name, err)
			}
		}
	}
	if p.Profile == nil {
		return p, fmt.Errorf("no profile part")
	}
	return p, nil
}
