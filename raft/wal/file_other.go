//go:build !linux

package wal

import (
	"os"
	"path/filepath"
)

// fdatasync falls back to fsync where fdatasync does not exist.
func fdatasync(f *os.File) error { return f.Sync() }

// preallocate only extends the file (no fallocate here).
func preallocate(f *os.File, size int64) error { return extend(f, size) }

// lockDir does not lock outside Linux: run one writer per directory.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o644)
}
