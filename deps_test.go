package raftbench_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/raftbench/raftbench"

// under reports whether the module-relative package path pkg is dir or inside it.
func under(pkg, dir string) bool {
	return pkg == dir || strings.HasPrefix(pkg, dir+"/")
}

// violation returns why a package of this module (from, module-relative) must
// not depend on another (to, module-relative), or "" if it may. These are the
// rules of DESIGN.md: cmd -> bench -> workloads -> raft. test says whether
// from is a test variant: the core's own tests may use the rest of raft/
// (the simulator, for instance), but nothing outside it.
func violation(from, to string, test bool) string {
	switch {
	case from == to:
		return ""
	case from == "raft" && !test:
		return "the protocol core imports no other package of this module"
	case under(from, "raft") && !under(to, "raft"):
		return "the raft library imports nothing of this module outside raft/"
	case under(from, "raft/wal") || under(from, "raft/snap") || under(from, "raft/transport"):
		if under(to, "raft/node") {
			return "the node imports wal, snap and transport, never the reverse"
		}
	case under(from, "workloads") && (under(to, "bench") || under(to, "cmd")):
		return "workloads sits below bench and cmd"
	case under(from, "bench") && under(to, "cmd"):
		return "bench sits below cmd"
	}
	return ""
}

func TestViolationRules(t *testing.T) {
	tests := []struct {
		from, to string
		test     bool
		bad      bool
	}{
		{"raft", "raft/sim", false, true},
		{"raft", "raft/sim", true, false},
		{"raft", "workloads", false, true},
		{"raft", "workloads", true, true},
		{"raft", "bench", true, true},
		{"raft/sim", "raft", false, false},
		{"raft/node", "raft/wal", false, false},
		{"raft/sim", "bench", false, true},
		{"raft/node", "workloads/kv", false, true},
		{"raft/wal", "raft/node", false, true},
		{"raft/transport/tcp", "raft/node", false, true},
		{"workloads/kv", "raft", false, false},
		{"workloads", "bench", false, true},
		{"workloads/kv", "cmd/raftbench", false, true},
		{"bench", "workloads", false, false},
		{"bench/engine", "raft/node", false, false},
		{"bench", "cmd/raftbench", false, true},
		{"cmd/raftbench", "bench", false, false},
		{"benchmarks", "cmd/raftbench", false, false}, // not under bench/
	}
	for _, tt := range tests {
		if got := violation(tt.from, tt.to, tt.test) != ""; got != tt.bad {
			t.Errorf("violation(%q, %q, test=%v) != \"\": got %v, want %v", tt.from, tt.to, tt.test, got, tt.bad)
		}
	}
}

// TestDependencyDirection lists every package of the module, with its test
// variants, and checks each transitive dependency inside the module against
// the rules. Packages that do not exist yet are simply absent.
func TestDependencyDirection(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not on PATH")
	}
	// -e: a package that does not build is the build's problem, not this
	// test's; its imports are still listed.
	cmd := exec.Command("go", "list", "-e", "-test", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}

	checked := 0
	reported := map[string]bool{} // a package and its test variants share dependencies
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		// Test variants are listed as "pkg [pkg.test]" or "pkg_test
		// [pkg.test]", and dependencies the same way: the "[...]" part is a
		// separate field, which relative drops.
		test := len(fields) > 1 && strings.HasPrefix(fields[1], "[")
		from, ok := relative(fields[0])
		if !ok || strings.HasSuffix(from, ".test") {
			continue // outside the module, or a generated test main
		}
		checked++
		for _, dep := range fields[1:] {
			to, ok := relative(dep)
			if !ok {
				continue
			}
			if why := violation(from, to, test); why != "" {
				msg := fmt.Sprintf("%s depends on %s: %s", from, to, why)
				if !reported[msg] {
					reported[msg] = true
					t.Error(msg)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("go list returned no packages of the module")
	}
}

// relative returns path relative to the module, with an external test
// package ("raft_test") attributed to the package it tests.
func relative(path string) (string, bool) {
	rel, ok := strings.CutPrefix(path, module+"/")
	if !ok {
		return "", false
	}
	return strings.TrimSuffix(rel, "_test"), true
}

// TestRaftLibraryUsesOnlyTheStandardLibrary guards the library's own
// dependencies: the baselines (etcd's raft, hashicorp/raft), the metrics
// and profiling clients are the bench side's, never raft/'s, so a program
// that imports the library pulls in nothing else.
func TestRaftLibraryUsesOnlyTheStandardLibrary(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not on PATH")
	}
	cmd := exec.Command("go", "list", "-e", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./raft/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		checked++
		for _, dep := range fields[1:] {
			if isStandard(dep) || strings.HasPrefix(dep, module+"/") {
				continue
			}
			t.Errorf("%s depends on %s, outside the standard library and this module", fields[0], dep)
		}
	}
	if checked == 0 {
		t.Fatal("go list returned no package under raft/")
	}
	if !isStandard("net/http") || isStandard("go.etcd.io/raft/v3") || isStandard("github.com/hashicorp/raft") {
		t.Fatal("isStandard misjudges")
	}
}

// isStandard reports whether an import path is the standard library's:
// its first element has no dot (vendored copies inside the standard
// library included).
func isStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".") || strings.HasPrefix(path, "vendor/")
}
