package pki

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/errors"
	"golang.org/x/sys/unix"
)

const (
	// lockFile is flock'ed while dinv writes to the directory, so DinV
	// containers sharing one volume never mint two CAs. It is never removed.
	lockFile = ".dinv.lock"
	// tempPrefix starts the name of a file being written. The loader reads
	// only the six final names, so a temp file a killed run left behind is
	// never taken for a certificate; the next writer removes it.
	tempPrefix = ".dinv-tmp-"
	lockPoll   = 5 * time.Millisecond
)

// newFile is a file to write into the certificate directory.
type newFile struct {
	name string
	data []byte
	perm os.FileMode
}

// listing is what a directory holds of interest to dinv.
type listing struct {
	present map[string]bool // which of the six files exist (any kind)
	temps   []string        // leftover temp files
}

// scan lists dir; a missing directory holds nothing.
func scan(dir string) (listing, error) {
	l := listing{present: map[string]bool{}}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return l, errors.Wrapf(err, "list certificate directory %s", dir)
	}
	for _, e := range entries {
		switch {
		case strings.HasPrefix(e.Name(), tempPrefix):
			l.temps = append(l.temps, e.Name())
		case isCertFile(e.Name()):
			l.present[e.Name()] = true
		}
	}
	return l, nil
}

func isCertFile(name string) bool {
	for _, f := range allFiles {
		if f == name {
			return true
		}
	}
	return false
}

// store is where generated files go: the OS, or a fake in tests.
type store interface {
	// lock creates dir if needed and takes its lock, waiting for another
	// holder until ctx is done.
	lock(ctx context.Context, dir string) (unlock func(), err error)
	// clean removes temp files in dir; the caller holds the lock.
	clean(dir string, temps []string) error
	// commit writes files into dir, each whole or not at all.
	commit(dir string, files []newFile) error
}

// osStore is the real filesystem. afterTemps, when set, runs once every temp
// file is written and before any is renamed (tests crash there).
type osStore struct {
	afterTemps func()
}

func (osStore) lock(ctx context.Context, dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, errors.Wrapf(err, "create certificate directory %s", dir)
	}
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, errors.Wrap(err, "open lock file")
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			f.Close()
			return nil, errors.Wrapf(err, "lock %s", path)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, errors.Wrapf(ctx.Err(), "wait for lock %s", path)
		case <-time.After(lockPoll):
		}
	}
	return func() { f.Close() }, nil // closing the file releases the lock
}

func (osStore) clean(dir string, temps []string) error {
	for _, t := range temps {
		if err := os.Remove(filepath.Join(dir, t)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return errors.Wrap(err, "remove leftover temp file")
		}
	}
	return nil
}

// commit writes every file to a temp file in dir (synced), then renames them
// into place in order and syncs the directory.
func (s osStore) commit(dir string, files []newFile) error {
	temps := make([]string, len(files))
	for i, f := range files {
		t, err := writeTemp(dir, f)
		if err != nil {
			for _, done := range temps[:i] {
				os.Remove(done)
			}
			return err
		}
		temps[i] = t
	}
	if s.afterTemps != nil {
		s.afterTemps()
	}
	for i, f := range files {
		if err := os.Rename(temps[i], filepath.Join(dir, f.name)); err != nil {
			return errors.Wrapf(err, "rename into %s", f.name)
		}
	}
	d, err := os.Open(dir)
	if err != nil {
		return errors.Wrap(err, "open certificate directory")
	}
	defer d.Close()
	return errors.Wrap(d.Sync(), "sync certificate directory")
}

// writeTemp writes f to a new temp file in dir with f's mode, synced.
func writeTemp(dir string, f newFile) (string, error) {
	t, err := os.CreateTemp(dir, tempPrefix+f.name+"-*")
	if err != nil {
		return "", errors.Wrapf(err, "create temp file for %s", f.name)
	}
	name := t.Name()
	fail := func(err error, op string) (string, error) {
		t.Close()
		os.Remove(name)
		return "", errors.Wrapf(err, "%s %s", op, name)
	}
	if err := t.Chmod(f.perm); err != nil {
		return fail(err, "chmod")
	}
	if _, err := t.Write(f.data); err != nil {
		return fail(err, "write")
	}
	if err := t.Sync(); err != nil {
		return fail(err, "sync")
	}
	if err := t.Close(); err != nil {
		return fail(err, "close")
	}
	return name, nil
}

// notWritable reports whether err means the directory cannot be written.
func notWritable(err error) bool {
	return errors.Is(err, syscall.EROFS) || errors.Is(err, fs.ErrPermission)
}
