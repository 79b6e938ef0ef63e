package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestDemoRuns(t *testing.T) {
	var out, errs bytes.Buffer
	code := run(context.Background(), []string{"demo", "--trials", "50", "--nodes", "5"}, &out, &errs)
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errs.String())
	}
	for _, want := range []string{"candidate -> leader", "committed through index 65", "crashed", "time without leader", "the paper's 150-300 line"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"nosuch"}, 2, "unknown command"},
		{[]string{}, 2, "Usage"},
		{[]string{"demo", "--election-timeout", "300-150"}, 1, "--election-timeout"},
		{[]string{"demo", "--election-timeout", "abc"}, 1, "--election-timeout"},
		{[]string{"demo", "--net-delay", "uniform:5ms"}, 1, "--net-delay"},
		{[]string{"demo", "--nodes", "1"}, 1, "--nodes"},
		{[]string{"demo", "--bogus"}, 1, "unknown flag"},
		{[]string{"demo", "extra"}, 1, "unexpected argument"},
	} {
		var out, errs bytes.Buffer
		code := run(context.Background(), tc.args, &out, &errs)
		all := out.String() + errs.String()
		if code != tc.code || !strings.Contains(all, tc.want) {
			t.Errorf("%v: exit %d, output %q; want exit %d mentioning %q", tc.args, code, all, tc.code, tc.want)
		}
		if tc.code == 1 && strings.Count(strings.TrimSpace(errs.String()), "\n") > 0 {
			t.Errorf("%v: want one error line, got %q", tc.args, errs.String())
		}
	}
}

func TestHelp(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"demo", "--help"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--election-timeout", "--net-delay", "Examples"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		in     string
		lo, hi time.Duration
		ok     bool
	}{
		{"150-300", 150 * time.Millisecond, 300 * time.Millisecond, true},
		{"150ms-155ms", 150 * time.Millisecond, 155 * time.Millisecond, true},
		{"0.5-1.5", 500 * time.Microsecond, 1500 * time.Microsecond, true},
		{"150-150", 150 * time.Millisecond, 150 * time.Millisecond, true},
		{"300-150", 0, 0, false},
		{"0-10", 0, 0, false},
		{"150", 0, 0, false},
	} {
		lo, hi, err := parseRange(tc.in)
		if (err == nil) != tc.ok || lo != tc.lo || hi != tc.hi {
			t.Errorf("parseRange(%q) = %v, %v, %v; want %v, %v, ok=%t", tc.in, lo, hi, err, tc.lo, tc.hi, tc.ok)
		}
	}
}
