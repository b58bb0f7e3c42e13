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

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/safefile"
)

const (
	// lockFile is flock'ed while dinv writes to the directory, so DinV
	// containers sharing one volume never mint two CAs. It is never removed.
	lockFile = ".dinv.lock"
	lockPoll = 5 * time.Millisecond
	// tempPrefix starts the name of a file being written, in the directory
	// of the file it becomes. The loader reads only the layout's final
	// names, so a temp file a killed run left behind is never taken for a
	// certificate; the next writer removes it.
	tempPrefix = safefile.TempPrefix
)

// commitLocked, with the lock held, finishes a commit a killed run left half
// done, decides again on what is there now and writes what that decision
// calls for, after removing leftover temp files. pre is the decision made
// before the lock, its files minted: when the directory still holds what it
// was made on, its files are written as they are.
func commitLocked(req *request, st store, is issuer, pre *decision, lay layout) (*decision, error) {
	if err := st.rollForward(req.Dir, lay); err != nil {
		return nil, err
	}
	d, l, err := decide(req, is.now)
	if err != nil {
		return nil, err
	}
	if pre != nil && pre.files != nil && pre.sameInputs(d) {
		d = pre
	}
	if d.writes() && d.files == nil {
		if err := d.mint(is, req.Hosts); err != nil {
			return nil, err
		}
	}
	if err := st.clean(req.Dir, l.temps); err != nil {
		return nil, err
	}
	if !d.writes() {
		return d, nil
	}
	if err := st.commit(req.Dir, d.files); err != nil {
		if notWritable(err) {
			return nil, notWritableErr(req.Dir, d, err)
		}
		return nil, err
	}
	for _, f := range d.files {
		d.result.Generated = append(d.result.Generated, f.name)
	}
	d.result.Reissued = d.reason
	return d, nil
}

// missing names the files the decision would write.
func (d *decision) missing() []string {
	var out []string
	lay, p := d.lay, d.plan
	if p.newCA {
		out = append(out, lay.caCert, lay.caKey)
	}
	if p.copyServerCA {
		out = append(out, lay.serverCA)
	}
	if p.server != serverKeep || d.reason != "" {
		out = append(out, lay.serverCert, lay.serverKey)
	}
	if p.copyClientCA {
		out = append(out, lay.clientCA)
	}
	if p.newClient {
		out = append(out, lay.clientCert, lay.clientKey)
	}
	return out
}

// notWritableErr explains a directory dinv must write to but cannot.
func notWritableErr(dir string, d *decision, err error) error {
	for errors.Unwrap(err) != nil {
		err = errors.Unwrap(err)
	}
	return errors.Errorf("certificate directory %s is not writable (%v): cannot generate %s; mount it read-write, or bring the certificates",
		dir, err, strings.Join(d.missing(), ", "))
}

// newFile is a file to write into the certificate directory.
type newFile struct {
	name    string // relative to the directory: "docker.crt", "server/cert.pem"
	data    []byte
	perm    os.FileMode
	dirPerm os.FileMode // the mode of name's subdirectory, should dinv create it
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

// syncDir makes the directory's entries (renames, removals) durable.
func syncDir(dir string) error { return safefile.SyncDir(dir) }

// writeTemp writes f to a new temp file with f's mode, synced, in the
// directory of f's final name under dir.
func writeTemp(dir string, f newFile) (string, error) {
	return safefile.WriteTemp(filepath.Join(dir, f.name), f.data, f.perm)
}

// notWritable reports whether err means the directory cannot be written.
func notWritable(err error) bool {
	return errors.Is(err, syscall.EROFS) || errors.Is(err, fs.ErrPermission)
}
