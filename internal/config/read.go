package config

import (
	"context"
	"io/fs"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/safefile"
)

// maxInput bounds what dinv reads of a file the user gives it.
const maxInput = 1 << 20

// readInput reads a file the user gives dinv (daemon.json): nil when it does
// not exist. It must be a regular file (links are followed, as Kubernetes
// mounts a ConfigMap's files), checked before it is opened so that a FIFO or
// a device there is refused, never opened or waited on; larger than 1 MiB
// is refused; ctx ending (a stop signal) ends the read.
func readInput(ctx context.Context, path string) ([]byte, error) {
	return readWith(ctx, path, safefile.ReadFileFollow)
}

// readWith is readInput reading the file with read.
func readWith(ctx context.Context, path string, read func(string, int64) ([]byte, error)) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := read(path, maxInput)
		done <- result{data, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		return nil, errors.Wrapf(context.Cause(ctx), "read %s", path)
	}
	var ke *safefile.KindError
	var se *safefile.SizeError
	switch {
	case r.err == nil:
		return r.data, nil
	case errors.Is(r.err, fs.ErrNotExist):
		return nil, nil
	case errors.As(r.err, &ke), errors.As(r.err, &se):
		return nil, core.Usagef("%v", r.err)
	}
	return nil, core.Usagef("%s: %v", path, r.err)
}
