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
	// journalFile lists, while a commit renames its temp files into place,
	// which temp file becomes which final file. A run killed between two
	// renames leaves it behind, and the next start, under the lock, finishes
	// the renames (rolls forward) before anything reads the set: a commit is
	// then all or nothing, across files too.
	journalFile = ".dinv-commit"
	// journalHead and journalTail start and end a journal; one without
	// both was not written by dinv.
	journalHead = "dinv-commit 1"
	journalTail = "end"
	lockPoll    = 5 * time.Millisecond
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
	// commit writes files into dir, all or none of them (once rollForward
	// has run after a crash).
	commit(dir string, files []newFile) error
	// rollForward finishes a commit a killed run left half done; the
	// caller holds the lock.
	rollForward(dir string) error
}

// osStore is the real filesystem. The hooks, when set, are where tests
// crash: afterTemps runs once every temp file is written, before the
// journal; atRename before each rename and once after the last, with the
// number of renames done, the journal in place.
type osStore struct {
	afterTemps func()
	atRename   func(done int)
}

// hasJournal reports whether dir holds a commit journal: a commit in
// progress, or one a killed run left half done.
func hasJournal(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, journalFile))
	return err == nil
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

// commit writes every file to a temp file in dir (synced), then the journal
// of the renames to come (synced, renamed into place, the directory synced),
// then renames them into place in order, syncs the directory and removes the
// journal. A kill before the journal is in place leaves the old set and temp
// files the next writer removes; a kill after it, a journal the next start
// rolls forward.
func (s osStore) commit(dir string, files []newFile) error {
	temps := make([]string, len(files))
	removeTemps := func() {
		for _, t := range temps {
			if t != "" {
				os.Remove(t)
			}
		}
	}
	for i, f := range files {
		t, err := writeTemp(dir, f)
		if err != nil {
			removeTemps()
			return err
		}
		temps[i] = t
	}
	if s.afterTemps != nil {
		s.afterTemps()
	}
	var journal strings.Builder
	journal.WriteString(journalHead + "\n")
	for i, f := range files {
		journal.WriteString(filepath.Base(temps[i]) + " " + f.name + "\n")
	}
	journal.WriteString(journalTail + "\n")
	jt, err := writeTemp(dir, newFile{name: journalFile, data: []byte(journal.String()), perm: 0o600})
	if err != nil {
		removeTemps()
		return err
	}
	if err := os.Rename(jt, filepath.Join(dir, journalFile)); err != nil {
		os.Remove(jt)
		removeTemps()
		return errors.Wrap(err, "rename commit journal into place")
	}
	if err := syncDir(dir); err != nil {
		return err // the journal may be in place: the next start rolls forward
	}
	for i, f := range files {
		if s.atRename != nil {
			s.atRename(i)
		}
		if err := os.Rename(temps[i], filepath.Join(dir, f.name)); err != nil {
			return errors.Wrapf(err, "rename into %s", f.name)
		}
	}
	if s.atRename != nil {
		s.atRename(len(files))
	}
	return finishJournal(dir)
}

// rollForward renames into place every temp file the journal lists that is
// still there, then removes the journal. Without a journal it does nothing.
func (osStore) rollForward(dir string) error {
	path := filepath.Join(dir, journalFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return errors.Wrap(err, "read commit journal")
	}
	renames, err := parseJournal(data)
	if err != nil {
		return errors.Wrapf(err, "commit journal %s (not dinv's: remove it)", path)
	}
	for _, r := range renames {
		err := os.Rename(filepath.Join(dir, r[0]), filepath.Join(dir, r[1]))
		if err != nil && !errors.Is(err, fs.ErrNotExist) { // ErrNotExist: renamed before the kill
			return errors.Wrapf(err, "roll forward into %s", r[1])
		}
	}
	return finishJournal(dir)
}

// finishJournal makes the renames durable, then removes the journal.
func finishJournal(dir string) error {
	if err := syncDir(dir); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(dir, journalFile)); err != nil {
		return errors.Wrap(err, "remove commit journal")
	}
	return syncDir(dir)
}

// parseJournal reads a journal: the head, "temp final" lines, the tail.
// Only dinv's temp files and the six final names may appear in it.
func parseJournal(data []byte) ([][2]string, error) {
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) < 2 || lines[0] != journalHead || lines[len(lines)-1] != journalTail {
		return nil, errors.New("no head or tail line")
	}
	var out [][2]string
	for i, l := range lines[1 : len(lines)-1] {
		f := strings.Fields(l)
		if len(f) != 2 || !strings.HasPrefix(f[0], tempPrefix) || strings.ContainsRune(f[0], '/') || !isCertFile(f[1]) {
			return nil, errors.Errorf("line %d: want a temp file and a certificate file name, got %q", i+2, l)
		}
		out = append(out, [2]string{f[0], f[1]})
	}
	return out, nil
}

// syncDir makes the directory's entries (renames, removals) durable.
func syncDir(dir string) error {
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
