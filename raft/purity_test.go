package raft_test

import (
	"cmp"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"maps"
	"os"
	pathpkg "path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The core is a pure state machine (see doc.go): no goroutines, no I/O, no
// clock, no global randomness. This test keeps it so by reading the source of
// every non-test file of this directory (not of sub-packages, which own the
// I/O).

// allowedImports is everything the core may import.
var allowedImports = map[string]bool{
	"bytes":           true,
	"cmp":             true,
	"encoding/binary": true,
	"errors":          true,
	"fmt":             true,
	"hash/crc32":      true,
	"iter":            true,
	"log/slog":        true,
	"maps":            true,
	"math":            true,
	"math/bits":       true,
	"math/rand/v2":    true,
	"slices":          true,
	"sort":            true,
	"strings":         true,
	"time":            true,
}

// forbiddenImports are not on the allow-list either; they get a message that
// says why.
var forbiddenImports = map[string]string{
	"os":      "the core does no I/O; the driver (raft/node) owns files",
	"io":      "the core does no I/O; the driver (raft/node) owns it",
	"net":     "the core does no I/O; the transport owns the network",
	"sync":    "the core runs on one goroutine and needs no locks",
	"syscall": "the core makes no system calls",
	"runtime": "the core does not depend on the runtime",
	"unsafe":  "the core does not use unsafe",
}

// forbiddenWhy returns the message for path or the nearest forbidden parent
// (sync/atomic is refused as sync is), or "".
func forbiddenWhy(path string) string {
	for p := path; p != "."; p = pathpkg.Dir(p) {
		if why, ok := forbiddenImports[p]; ok {
			return why
		}
	}
	return ""
}

// allowedMembers restricts what the core may use of some packages: for time
// only the Duration type and its unit constants (now is an input), for
// math/rand/v2 only the Rand type (the source comes seeded from Config.Rand;
// rand.IntN and friends read a global source, rand.New would make a private
// one).
var allowedMembers = map[string]map[string]bool{
	"time": {
		"Duration": true, "Nanosecond": true, "Microsecond": true,
		"Millisecond": true, "Second": true, "Minute": true, "Hour": true,
	},
	"math/rand/v2": {"Rand": true},
}

// checkPurity type-checks files as one package and returns every violation,
// each prefixed with its position.
func checkPurity(fset *token.FileSet, pkgPath string, files []*ast.File) []string {
	type problem struct {
		pos token.Pos
		msg string
	}
	var problems []problem
	report := func(pos token.Pos, format string, args ...any) {
		problems = append(problems, problem{pos, fmt.Sprintf(format, args...)})
	}

	for _, f := range files {
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				report(imp.Pos(), "bad import path %s", imp.Path.Value)
				continue
			}
			if why := forbiddenWhy(path); why != "" {
				report(imp.Pos(), "imports %q: %s", path, why)
			} else if !allowedImports[path] {
				report(imp.Pos(), "imports %q, which is not on the allow-list in purity_test.go", path)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if g, ok := n.(*ast.GoStmt); ok {
				report(g.Go, "go statement: the core starts no goroutines")
			}
			return true
		})
	}

	// Member checks resolve identifiers with go/types, so renamed and dot
	// imports are caught and a local variable that happens to be called
	// rand or time is not mistaken for the package.
	info := &types.Info{Uses: map[*ast.Ident]types.Object{}}
	conf := types.Config{
		Importer: stdImporter{importer.Default()},
		Error: func(err error) {
			if terr, ok := err.(types.Error); ok {
				report(terr.Pos, "type-check: %s", terr.Msg)
			} else {
				report(token.NoPos, "type-check: %v", err)
			}
		},
	}
	_, _ = conf.Check(pkgPath, fset, files, info) // errors reach conf.Error

	for id, obj := range info.Uses {
		pkg := obj.Pkg()
		if pkg == nil || obj.Parent() != pkg.Scope() {
			continue // universe objects, methods, fields, locals
		}
		allowed, restricted := allowedMembers[pkg.Path()]
		if restricted && !allowed[obj.Name()] {
			report(id.Pos(), "uses %s.%s: only %s of %q may be used in the core",
				pkg.Name(), obj.Name(), strings.Join(slices.Sorted(maps.Keys(allowed)), ", "), pkg.Path())
		}
	}

	slices.SortStableFunc(problems, func(a, b problem) int { return cmp.Compare(a.pos, b.pos) })
	out := make([]string, len(problems))
	for i, p := range problems {
		out[i] = fmt.Sprintf("%s: %s", fset.Position(p.pos), p.msg)
	}
	return out
}

// stdImporter imports the standard library; any other package (already
// reported as a bad import) is stood in for by an empty package, so that the
// report says what is wrong rather than where the importer looked.
type stdImporter struct{ std types.Importer }

func (i stdImporter) Import(path string) (*types.Package, error) {
	if first, _, _ := strings.Cut(path, "/"); !strings.Contains(first, ".") {
		return i.std.Import(path)
	}
	pkg := types.NewPackage(path, pathpkg.Base(path))
	pkg.MarkComplete()
	return pkg, nil
}

func TestPurity(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(".", name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		t.Fatal("no source files found: is the test running in the raft directory?")
	}
	for _, p := range checkPurity(fset, "github.com/raftbench/raftbench/raft", files) {
		t.Error(p)
	}
}

// TestPurityCheckerCatchesViolations makes sure the checker is not vacuous.
func TestPurityCheckerCatchesViolations(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // substrings, one per expected violation, in sorted order
	}{
		{
			name: "go statement and clock",
			src: `package p
import "time"
func f() {}
func g() time.Duration { go f(); return time.Duration(time.Now().UnixNano()) }`,
			want: []string{"4:26: go statement", "4:60: uses time.Now"},
		},
		{
			name: "global and private random sources",
			src: `package p
import "math/rand/v2"
var a = rand.IntN(3)
var b = rand.New(rand.NewPCG(1, 2))`,
			want: []string{"3:14: uses rand.IntN", "4:14: uses rand.New", "4:23: uses rand.NewPCG"},
		},
		{
			name: "renamed and dot imports",
			src: `package p
import (
	clock "time"
	. "math/rand/v2"
)
func f() { clock.Sleep(clock.Second); _ = Float64() }`,
			want: []string{"6:18: uses time.Sleep", "6:43: uses rand.Float64"},
		},
		{
			name: "forbidden and unlisted imports",
			src: `package p
import (
	"os"
	"sync"
	_ "sync/atomic"
	_ "encoding/json"
)
var _ = os.Args
var _ sync.Mutex`,
			want: []string{
				`3:2: imports "os": the core does no I/O`,
				`4:2: imports "sync": the core runs on one goroutine`,
				`5:2: imports "sync/atomic": the core runs on one goroutine`,
				`6:2: imports "encoding/json", which is not on the allow-list`,
			},
		},
		{
			name: "allowed: seeded source, durations, shadowing names",
			src: `package p
import (
	"math/rand/v2"
	"time"
)
type Config struct{ Rand *rand.Rand }
func timeout(c Config, min time.Duration) time.Duration {
	rand := c.Rand // a local that shadows the package
	d := min + time.Duration(rand.Int64N(int64(5*time.Millisecond)))
	return d.Round(time.Microsecond)
}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "src.go", tt.src, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			got := checkPurity(fset, "example.com/p", []*ast.File{f})
			if len(got) != len(tt.want) {
				t.Fatalf("got %d violations, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("violation %d: got %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}
