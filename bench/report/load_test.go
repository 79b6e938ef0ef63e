package report

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string // written to report.json; "" = no file
		dir     bool   // load the directory instead of the file
		wantIs  error
		want    string // substring of the message
	}{
		{name: "missing file", wantIs: fs.ErrNotExist, want: "no such file"},
		{name: "missing report in directory", dir: true, wantIs: fs.ErrNotExist, want: "report.json: no such file"},
		{name: "empty file", content: " ", want: "not JSON: "},
		{name: "not JSON", content: "goos: linux\nBenchmarkRun 1 2 ns/op\n", want: "not JSON: "},
		{name: "truncated JSON", content: `{"schema": "raftbench/run/v1", "ops": 3`, want: "not JSON: "},
		{name: "JSON array", content: `[1, 2, 3]`, wantIs: ErrNotReport, want: `not a raftbench report (no "schema" field)`},
		{name: "JSON object without schema", content: `{"ops": 3}`, wantIs: ErrNotReport, want: `not a raftbench report (no "schema" field)`},
		{name: "schema not a string", content: `{"schema": 1}`, wantIs: ErrNotReport, want: "not a raftbench report"},
		{name: "newer version", content: `{"schema": "raftbench/run/v2"}`, wantIs: ErrSchema, want: `unsupported report schema "raftbench/run/v2", want raftbench/run/v1`},
		{name: "other kind", content: `{"schema": "raftbench/election/v1"}`, wantIs: ErrSchema, want: `unsupported report schema "raftbench/election/v1", want raftbench/run/v1`},
		{name: "wrong field type", content: `{"schema": "raftbench/run/v1", "ops": "many"}`, want: "malformed raftbench/run/v1 report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileReport)
			if tt.content != "" {
				if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			arg := path
			if tt.dir {
				arg = dir
			}
			_, err := Load(arg)
			if err == nil {
				t.Fatalf("Load: got no error, want %q", tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("Load: got %q, want it to contain %q", msg, tt.want)
			}
			if !strings.Contains(msg, path) {
				t.Errorf("Load: error %q does not name %s", msg, path)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("Load: error %q is more than one line", msg)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Load: error %q does not wrap %v", msg, tt.wantIs)
			}
		})
	}
}

func TestLoadMinimal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(path, []byte(`{"schema":"raftbench/run/v1","ops":5,"future_field":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if rep.Ops != 5 || rep.Config != nil {
		t.Errorf("got ops %d config %v, want 5 and nil", rep.Ops, rep.Config)
	}
}

func FuzzLoad(f *testing.F) {
	dir := f.TempDir()
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"schema":"raftbench/run/v1"}`,
		`{"schema":"raftbench/run/v1","config":{"a":[1,2]},"errors":{"timeout":3},"series":[{"t":0,"ops":1}]}`,
		`{"schema":"raftbench/run/v1","start":"not a time"}`,
		`{"schema":"raftbench/election/v1"}`, `{"schema":null}`, "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, FileReport)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		rep, err := Load(path)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is more than one line: %q", err)
			}
			return
		}
		if rep.Schema != SchemaRun {
			t.Errorf("decoded a report of schema %q", rep.Schema)
		}
	})
}
