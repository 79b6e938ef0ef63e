package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Errors that Load wraps, for callers that must tell them apart.
var (
	// ErrNotReport: the file is JSON but not a raftbench report (no schema).
	ErrNotReport = errors.New("not a raftbench report")
	// ErrSchema: a raftbench report of another kind or version.
	ErrSchema = errors.New("unsupported report schema")
)

// LoadMaxBytes bounds the size of a report.json that Load reads. A one-week
// series is about 8 MB.
const LoadMaxBytes = 64 << 20

// Load reads a run's report. path is a run directory or a report.json file.
// Errors are one line naming the path: a missing file (wrapping
// fs.ErrNotExist), a file that is not JSON, JSON that is not a raftbench
// report (ErrNotReport), or a report of another schema (ErrSchema).
//
// The config is returned as the json.RawMessage that the file holds.
func Load(path string) (Report, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, FileReport)
	}
	f, err := os.Open(path)
	if err != nil {
		return Report{}, fmt.Errorf("report: load: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, LoadMaxBytes+1))
	if err != nil {
		return Report{}, fmt.Errorf("report: load %s: %w", path, err)
	}
	if len(data) > LoadMaxBytes {
		return Report{}, fmt.Errorf("report: load %s: larger than %d bytes", path, LoadMaxBytes)
	}
	rep, err := Decode(data)
	if err != nil {
		return Report{}, fmt.Errorf("report: load %s: %w", path, err)
	}
	return rep, nil
}

// Decode parses the content of a report.json (see Load).
func Decode(data []byte) (Report, error) {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v) // for the position of the problem
		return Report{}, fmt.Errorf("not JSON: %s", oneLine(err))
	}
	var head struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(data, &head); err != nil || head.Schema == nil {
		return Report{}, fmt.Errorf("%w (no \"schema\" field)", ErrNotReport)
	}
	if *head.Schema != SchemaRun {
		return Report{}, fmt.Errorf("%w %q, want %s", ErrSchema, *head.Schema, SchemaRun)
	}
	var wire struct {
		Report
		Config json.RawMessage `json:"config,omitempty"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&wire); err != nil {
		return Report{}, fmt.Errorf("malformed %s report: %s", SchemaRun, oneLine(err))
	}
	rep := wire.Report
	rep.Config = nil
	if len(wire.Config) > 0 && !bytes.Equal(wire.Config, []byte("null")) {
		rep.Config = wire.Config
	}
	return rep, nil
}

func oneLine(err error) string {
	if err == nil {
		return "invalid"
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}
