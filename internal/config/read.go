package config

import (
	"context"
	"io"
	"io/fs"
	"os"

	"github.com/pkg/errors"
	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/core"
)

// maxInput bounds what dinv reads of a file the user gives it.
const maxInput = 1 << 20

// readInput reads a file the user gives dinv (daemon.json): nil when it does
// not exist. It must be a regular file (links are followed, as Kubernetes
// mounts a ConfigMap's files), checked before it is opened so that a FIFO or
// a device there is refused, never opened or waited on; larger than 1 MiB
// is refused; ctx ending (a stop signal) ends the read.
func readInput(ctx context.Context, path string) ([]byte, error) {
	return readWith(ctx, path, readRegular)
}

// readWith is readInput reading the file with read.
func readWith(ctx context.Context, path string, read func(string, fs.FileInfo) ([]byte, error)) ([]byte, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, core.Usagef("%s: %v", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, core.Usagef("%s: a %s, not a regular file", path, kind(fi.Mode()))
	}
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := read(path, fi)
		done <- result{data, err}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-ctx.Done():
		return nil, errors.Wrapf(context.Cause(ctx), "read %s", path)
	}
}

// readRegular opens path without blocking and reads it when it is still the
// regular file stat saw.
func readRegular(path string, seen fs.FileInfo) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, core.Usagef("%s: %v", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !os.SameFile(fi, seen) || !fi.Mode().IsRegular() {
		return nil, core.Usagef("%s: changed while dinv read it", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxInput+1))
	if err != nil {
		return nil, core.Usagef("%s: %v", path, err)
	}
	if len(data) > maxInput {
		return nil, core.Usagef("%s: larger than %d KiB", path, maxInput>>10)
	}
	return data, nil
}

// kind names a file type for a message.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}
