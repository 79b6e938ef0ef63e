//go:build linux

package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// fdatasync flushes the file's data and the metadata needed to read it back
// (its size), not its timestamps.
func fdatasync(f *os.File) error {
	fd := int(f.Fd())
	for {
		err := syscall.Fdatasync(fd)
		if err != syscall.EINTR {
			if err != nil {
				return os.NewSyscallError("fdatasync", err)
			}
			return nil
		}
	}
}

// preallocate reserves size bytes for f, which then reads as zeros up to
// size. Where the file system cannot allocate (fallocate unsupported), it
// only extends the file: the blocks are then allocated as they are written.
func preallocate(f *os.File, size int64) error {
	for {
		err := syscall.Fallocate(int(f.Fd()), 0, 0, size)
		switch {
		case err == nil:
			return nil
		case err == syscall.EINTR:
			continue
		case errors.Is(err, syscall.EOPNOTSUPP), errors.Is(err, syscall.ENOSYS):
			return extend(f, size)
		}
		return os.NewSyscallError("fallocate", err)
	}
}

// lockDir takes an exclusive lock on dir so that two processes never write
// one WAL. The lock goes away with the process, however it ends.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, os.NewSyscallError("flock", err)
	}
	return f, nil
}
