package pki

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/errors"
	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/safefile"
)

const (
	// lockFile is flock'ed while dinv writes to the directory, so DinV
	// containers sharing one volume never mint two CAs. It is never removed.
	lockFile = ".dinv.lock"
	// tempPrefix starts the name of a file being written, in the directory
	// of the file it becomes. The loader reads only the layout's final
	// names, so a temp file a killed run left behind is never taken for a
	// certificate; the next writer removes it.
	tempPrefix = safefile.TempPrefix
	// journalFile lists, while a commit renames its temp files into place,
	// which temp file becomes which final file (names relative to the
	// certificate directory, as "server/cert.pem"). A run killed between two
	// renames leaves it behind, and the next start, under the lock, finishes
	// the renames (rolls forward) before anything reads the set: a commit is
	// then all or nothing, across files too.
	journalFile = ".dinv-commit"
	// journalHead and journalTail start and end a journal; one without
	// both was not written by dinv.
	journalHead = "dinv-commit 1"
	journalTail = "end"
	lockPoll    = 5 * time.Millisecond
	// maxCertBytes and maxJournalBytes bound what dinv reads from the
	// directory: a larger file (or /dev/zero behind a link) is an error.
	maxCertBytes    = 1 << 20
	maxJournalBytes = 64 << 10
)

// newFile is a file to write into the certificate directory.
type newFile struct {
	name    string // relative to the directory: "docker.crt", "server/cert.pem"
	data    []byte
	perm    os.FileMode
	dirPerm os.FileMode // the mode of name's subdirectory, should dinv create it
}

// listing is what a directory holds of interest to dinv.
type listing struct {
	present map[string]bool // which of the layout's files exist (any kind)
	temps   []string        // leftover temp files, relative to the directory
}

// scan lists dir and the layout's subdirectories; a missing directory
// holds nothing.
func scan(dir string, lay layout) (listing, error) {
	l := listing{present: map[string]bool{}}
	subs := []string{"."}
	for sub := range lay.dirs {
		subs = append(subs, sub)
	}
	sort.Strings(subs[1:])
	for _, sub := range subs {
		path := filepath.Join(dir, sub)
		entries, err := os.ReadDir(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if errors.Is(err, syscall.ENOTDIR) && sub != "." {
			return l, badFile(path, "is not a directory")
		}
		if err != nil {
			return l, errors.Wrapf(err, "list certificate directory %s", path)
		}
		for _, e := range entries {
			name := filepath.Join(sub, e.Name())
			switch {
			case strings.HasPrefix(e.Name(), tempPrefix):
				l.temps = append(l.temps, name)
			case lay.isFile(name):
				l.present[name] = true
			}
		}
	}
	return l, nil
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
	// rollForward finishes a commit a killed run left half done, whose
	// journal names lay's files; the caller holds the lock.
	rollForward(dir string, lay layout) error
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
	f, err := safefile.OpenOwn(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, errors.Wrap(err, "open lock file")
	}
	if err := waitLock(ctx, f, path); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil // closing the file releases the lock
}

// waitLock takes f's flock, saying once that it waits for another holder,
// until ctx is done.
func waitLock(ctx context.Context, f *os.File, path string) error {
	waiting := false
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			return errors.Wrapf(err, "lock %s", path)
		}
		if !waiting {
			core.Log(ctx).Info("waiting for the certificate directory's lock", "file", path)
			waiting = true
		}
		select {
		case <-ctx.Done():
			return errors.Wrapf(ctx.Err(), "wait for the lock %s interrupted", path)
		case <-time.After(lockPoll):
		}
	}
}

func (osStore) clean(dir string, temps []string) error {
	for _, t := range temps {
		if err := os.Remove(filepath.Join(dir, t)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return errors.Wrap(err, "remove leftover temp file")
		}
	}
	return nil
}

// commit writes every file to a temp file beside its final name (synced,
// and the subdirectories they are in), then the journal of the renames to
// come (synced, renamed into place, the directory synced), then renames
// them into place in order, syncs the directories and removes the journal.
// A kill before the journal is in place leaves the old set and temp files
// the next writer removes; a kill after it, a journal the next start rolls
// forward. A subdirectory missing is created first, with the file's dirPerm.
func (s osStore) commit(dir string, files []newFile) error {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.name
		if sub := filepath.Dir(f.name); sub != "." {
			if err := makeSubdir(filepath.Join(dir, sub), f.dirPerm); err != nil {
				return err
			}
		}
	}
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
	// Temp files in subdirectories: their entries are made durable before
	// the journal names them (those in dir itself are, with the journal's).
	if err := syncSubdirs(dir, names); err != nil {
		removeTemps()
		return err
	}
	var journal strings.Builder
	journal.WriteString(journalHead + "\n")
	for i, f := range files {
		journal.WriteString(filepath.Join(filepath.Dir(f.name), filepath.Base(temps[i])) + " " + f.name + "\n")
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
	if err := syncSubdirs(dir, names); err != nil {
		return err // the journal is in place: the next start rolls forward
	}
	return finishJournal(dir)
}

// makeSubdir creates path with mode perm (0755 when 0), whatever the umask;
// one already there must be a directory, not a link to one: dinv does not
// write through links. Anything else in its place is a usage error.
func makeSubdir(path string, perm os.FileMode) error {
	if perm == 0 {
		perm = 0o755
	}
	err := safefile.Mkdir(path, perm)
	var ke *safefile.KindError
	if errors.As(err, &ke) && ke.Kind != safefile.KindLink {
		return core.Usagef("%v", err)
	}
	return err
}

// syncSubdirs syncs the subdirectories of dir that names are in.
func syncSubdirs(dir string, names []string) error {
	done := map[string]bool{".": true}
	for _, n := range names {
		if sub := filepath.Dir(n); !done[sub] {
			done[sub] = true
			if err := syncDir(filepath.Join(dir, sub)); err != nil {
				return err
			}
		}
	}
	return nil
}

// rollForward renames into place every temp file the journal lists that is
// still there, then removes the journal. Without a journal it does nothing.
func (osStore) rollForward(dir string, lay layout) error {
	path := filepath.Join(dir, journalFile)
	data, err := readJournal(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	renames, err := parseJournal(data, lay)
	if err != nil {
		return errors.Wrapf(err, "commit journal %s (not dinv's: remove it)", path)
	}
	var finals []string
	for _, r := range renames {
		if err := checkTemp(filepath.Join(dir, r[0])); err != nil {
			return err
		}
		err := os.Rename(filepath.Join(dir, r[0]), filepath.Join(dir, r[1]))
		if err != nil && !errors.Is(err, fs.ErrNotExist) { // ErrNotExist: renamed before the kill
			return errors.Wrapf(err, "roll forward into %s", r[1])
		}
		finals = append(finals, r[1])
	}
	if err := syncSubdirs(dir, finals); err != nil {
		return err
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
// Only the layout's final names may appear in it, each with a temp file of
// dinv's in the same directory.
func parseJournal(data []byte, lay layout) ([][2]string, error) {
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) < 2 || lines[0] != journalHead || lines[len(lines)-1] != journalTail {
		return nil, errors.New("no head or tail line")
	}
	var out [][2]string
	for i, l := range lines[1 : len(lines)-1] {
		f := strings.Fields(l)
		if len(f) != 2 || !lay.isFile(f[1]) || filepath.Clean(f[0]) != f[0] || filepath.Dir(f[0]) != filepath.Dir(f[1]) ||
			!strings.HasPrefix(filepath.Base(f[0]), tempPrefix) {
			return nil, errors.Errorf("line %d: want a temp file and a certificate file name of the %s layout, got %q", i+2, lay.name, l)
		}
		out = append(out, [2]string{f[0], f[1]})
	}
	return out, nil
}

// syncDir makes the directory's entries (renames, removals) durable.
func syncDir(dir string) error { return safefile.SyncDir(dir) }

// writeTemp writes f to a new temp file with f's mode, synced, in the
// directory of f's final name under dir.
func writeTemp(dir string, f newFile) (string, error) {
	return safefile.WriteTemp(filepath.Join(dir, f.name), f.data, f.perm)
}

// readJournal reads the commit journal, dinv's own file: not through a
// link, not from a FIFO or device (neither is opened), at most
// maxJournalBytes.
func readJournal(path string) ([]byte, error) {
	data, err := safefile.ReadFile(path, maxJournalBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return data, errors.Wrap(err, "read commit journal")
}

// checkTemp refuses to roll forward a temp file that is not a regular file
// (a link planted under a temp name); a missing one was renamed already.
func checkTemp(path string) error {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().IsRegular() {
		return nil
	}
	return errors.Errorf("roll forward: %s is %s, not a file dinv wrote", path, safefile.Kind(fi.Mode()))
}

// notWritable reports whether err means the directory cannot be written.
func notWritable(err error) bool {
	return errors.Is(err, syscall.EROFS) || errors.Is(err, fs.ErrPermission)
}
