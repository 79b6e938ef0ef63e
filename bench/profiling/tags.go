package profiling

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/raftbench/raftbench/raft/node"
)

// Static tag keys the toolkit sets on every profile of a run.
const (
	TagRunID    = "run_id"   // the run's name (its output directory's base name)
	TagEngine   = "engine"   // the engine driven, e.g. raft
	TagWorkload = "workload" // a short description of the load, e.g. kv-r50-v128-uniform
)

// StaticTagKeys lists the static tags the toolkit sets (the dashboards
// filter on these).
var StaticTagKeys = []string{TagRunID, TagEngine, TagWorkload}

// AppLabel is the label under which Pyroscope stores the application name.
const AppLabel = "service_name"

// ValidateTagKey checks a tag key: Pyroscope's label names are
// [a-zA-Z_][a-zA-Z0-9_.]*; names starting with "__" are Pyroscope's own,
// service_name holds the application name, and the goroutine label keys
// (node.ProfileLabelKeys) are set per sample, not per process.
func ValidateTagKey(k string) error {
	if k == "" {
		return fmt.Errorf("empty tag key")
	}
	for i, r := range k {
		letter := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || r != '.' && (r < '0' || r > '9')) {
			return fmt.Errorf("tag key %q: want [a-zA-Z_][a-zA-Z0-9_.]*", k)
		}
	}
	switch {
	case strings.HasPrefix(k, "__"):
		return fmt.Errorf("tag key %q: names starting with __ are reserved by Pyroscope", k)
	case k == AppLabel:
		return fmt.Errorf("tag key %q holds the application name: use the app name instead", k)
	case slices.Contains(node.ProfileLabelKeys, k):
		return fmt.Errorf("tag key %q is a per-goroutine label the nodes set themselves", k)
	}
	return nil
}

// ValidateTagValue checks a tag value: not empty, no white space or control
// characters, and none of the characters that delimit tags in Pyroscope's
// application names ({ } , =).
func ValidateTagValue(k, v string) error {
	if v == "" {
		return fmt.Errorf("tag %s: empty value", k)
	}
	for _, r := range v {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("{},=", r) {
			return fmt.Errorf("tag %s=%q: %q is not allowed in a value", k, v, r)
		}
	}
	return nil
}

// ValidateTags checks every key and value of tags.
func ValidateTags(tags map[string]string) error {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := ValidateTagKey(k); err != nil {
			return err
		}
		if err := ValidateTagValue(k, tags[k]); err != nil {
			return err
		}
	}
	return nil
}

// ParseTags parses "k=v,k2=v2" (empty: no tags). A key given twice is an
// error.
func ParseTags(s string) (map[string]string, error) {
	tags := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return tags, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return nil, fmt.Errorf("tag %q: want key=value", kv)
		}
		if _, dup := tags[k]; dup {
			return nil, fmt.Errorf("tag %q given twice", k)
		}
		if err := ValidateTagKey(k); err != nil {
			return nil, err
		}
		if err := ValidateTagValue(k, v); err != nil {
			return nil, err
		}
		tags[k] = v
	}
	return tags, nil
}

// TagValue turns free text into a valid tag value: runs of characters a
// value may not hold become one '-'.
func TagValue(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("{},=", r) {
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = true
			continue
		}
		b.WriteRune(r)
		dash = false
	}
	v := strings.TrimSuffix(b.String(), "-")
	if v == "" {
		return "none"
	}
	return v
}
