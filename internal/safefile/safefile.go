// Package safefile reads and writes the files DinV keeps or is given, so that
// what is in a path's place cannot be used against dinv:
//
//   - A write is whole or nothing: a new temp file beside the final name
//     (O_EXCL, so never through a link planted there), synced, renamed into
//     place, the directory synced. A reader sees the old file or the new one,
//     never part of one.
//   - A read looks at what the path is (lstat, or stat where links are
//     followed) before opening it, so that a FIFO, device node or socket is
//     refused, naming its kind, without being opened; the open itself is
//     non-blocking and the open file checked again (fstat), and the read is
//     bounded.
//
// ReadFile is for dinv's own files (links refused); ReadFileFollow for inputs
// users legitimately give as links (Kubernetes mounts ConfigMap and Secret
// files as links to regular files).
package safefile

import (
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"

	"github.com/pkg/errors"
	"golang.org/x/sys/unix"
)

// TempPrefix starts the name of a file being written, in the directory of
// the file it becomes. Nothing reads a name starting so as a file of its
// own; a writer may remove those a killed run left behind.
const TempPrefix = ".dinv-tmp-"

// The kinds of file KindError names (see Kind).
const (
	KindDirectory = "a directory"
	KindLink      = "a symbolic link"
	KindFIFO      = "a FIFO"
	KindSocket    = "a socket"
	KindDevice    = "a device"
	KindRegular   = "a regular file"
	KindOther     = "not a regular file"
	// KindDangling is a link whose target is missing (ReadFileFollow).
	KindDangling = "a symbolic link to a missing file"
)

// Kind names a file's type as errors say it: "a FIFO", "a device", ...
func Kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return KindDirectory
	case m&fs.ModeSymlink != 0:
		return KindLink
	case m&fs.ModeNamedPipe != 0:
		return KindFIFO
	case m&fs.ModeSocket != 0:
		return KindSocket
	case m&fs.ModeDevice != 0:
		return KindDevice
	case m.IsRegular():
		return KindRegular
	}
	return KindOther
}

// KindError is a path whose file is not of the kind wanted: not a regular
// file (or, for Mkdir, not a directory), or a link where links are not
// followed.
type KindError struct {
	Path string
	Kind string // what it is: one of the Kind constants
	// Dir is set when a directory was wanted (Mkdir).
	Dir bool
}

func (e *KindError) Error() string {
	switch {
	case e.Kind == KindLink:
		return e.Path + ": is a symbolic link; dinv does not follow links where it writes"
	case e.Kind == KindDangling:
		return e.Path + ": is " + KindDangling
	case e.Dir:
		return e.Path + ": is " + e.Kind + ", not a directory"
	case e.Kind == KindDirectory:
		return e.Path + ": is a directory, not a file"
	}
	return e.Path + ": is not a regular file (" + e.Kind + ")"
}

// SizeError is a file larger than a read allows.
type SizeError struct {
	Path  string
	Limit int64 // bytes
}

func (e *SizeError) Error() string {
	return e.Path + ": larger than " + strconv.FormatInt(e.Limit>>10, 10) + " KiB"
}

// ReadFile reads the regular file at path, at most limit bytes, without
// following a link in its place: a link, FIFO, device node, socket or
// directory there is a *KindError, found by lstat before any open; a larger
// file a *SizeError. A missing file is an error for which
// errors.Is(err, fs.ErrNotExist) holds.
func ReadFile(path string, limit int64) ([]byte, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	return read(path, fi, limit, unix.O_NOFOLLOW)
}

// ReadFileFollow is ReadFile for a path that may be a link to a regular file
// (a Kubernetes ConfigMap or Secret file): what the link leads to is checked
// (stat) before any open. A link to a missing file is a *KindError of kind
// KindDangling; a missing path, an error for which
// errors.Is(err, fs.ErrNotExist) holds.
func ReadFileFollow(path string, limit int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if li, lerr := os.Lstat(path); lerr == nil && li.Mode()&fs.ModeSymlink != 0 {
			return nil, &KindError{Path: path, Kind: KindDangling}
		}
	}
	if err != nil {
		return nil, err
	}
	return read(path, fi, limit, 0)
}

// read checks fi (the path's lstat or stat), then opens path without
// blocking and reads it; flag is added to the open's flags.
func read(path string, fi fs.FileInfo, limit int64, flag int) ([]byte, error) {
	if !fi.Mode().IsRegular() {
		return nil, &KindError{Path: path, Kind: Kind(fi.Mode())}
	}
	if fi.Size() > limit {
		return nil, &SizeError{Path: path, Limit: limit}
	}
	// Non-blocking: a FIFO put in the file's place since the check does
	// not hang the open; fstat then refuses it.
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|flag, 0)
	if err != nil {
		return nil, openErr(path, err)
	}
	defer f.Close()
	if err := checkRegular(f, path); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, errors.Wrapf(err, "read %s", path)
	}
	if int64(len(data)) > limit {
		return nil, &SizeError{Path: path, Limit: limit}
	}
	return data, nil
}

// checkRegular refuses an open file that is not a regular file.
func checkRegular(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return errors.Wrapf(err, "stat %s", path)
	}
	if !fi.Mode().IsRegular() {
		return &KindError{Path: path, Kind: Kind(fi.Mode())}
	}
	return nil
}

// openErr explains the error of an open with O_NOFOLLOW: ELOOP there means
// a link in the file's place (put there since the lstat).
func openErr(path string, err error) error {
	if errors.Is(err, syscall.ELOOP) {
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return &KindError{Path: path, Kind: KindLink}
		}
	}
	return err
}

// OpenOwn opens path, one of dinv's own files (a lock file, say), as
// os.OpenFile does with flag and perm, but never through a link in its
// place (a link is a *KindError, never a way to make dinv create or lock a
// file elsewhere), never blocking on a FIFO, and only when it is a regular
// file: anything else is a *KindError, found before any open when the path
// exists.
func OpenOwn(path string, flag int, perm fs.FileMode) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, &KindError{Path: path, Kind: Kind(fi.Mode())}
	}
	f, err := os.OpenFile(path, flag|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, perm)
	if err != nil {
		return nil, openErr(path, err)
	}
	if err := checkRegular(f, path); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// WriteFile writes data to path whole or not at all, with mode perm
// whatever the umask: a temp file beside it (WriteTemp), renamed over path,
// the directory synced. A link at path is replaced, never followed. The
// directory must exist. On an error path is as it was and no temp file is
// left (unless removing it failed too).
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	tmp, err := WriteTemp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return errors.Wrapf(err, "rename into %s", path)
	}
	return SyncDir(filepath.Dir(path))
}

// WriteTemp writes data to a new temp file for the final name path: in
// path's directory, named TempPrefix + path's base name + "-" + a random
// suffix, created with O_EXCL (a name taken, a link planted there included,
// is never opened: another is tried), mode perm whatever the umask, synced
// and closed. It returns the temp file's path; renaming it into place is
// the caller's (several files committed together, say). On an error no
// temp file is left.
func WriteTemp(path string, data []byte, perm fs.FileMode) (string, error) {
	t, err := createTemp(filepath.Dir(path), TempPrefix+filepath.Base(path)+"-", perm)
	if err != nil {
		return "", errors.Wrapf(err, "create temp file for %s", path)
	}
	name := t.Name()
	fail := func(err error, op string) (string, error) {
		t.Close()
		os.Remove(name)
		return "", errors.Wrapf(err, "%s %s", op, name)
	}
	if err := t.Chmod(perm); err != nil {
		return fail(err, "chmod")
	}
	if _, err := t.Write(data); err != nil {
		return fail(err, "write")
	}
	if err := t.Sync(); err != nil {
		return fail(err, "sync")
	}
	if err := t.Close(); err != nil {
		os.Remove(name)
		return "", errors.Wrapf(err, "close %s", name)
	}
	return name, nil
}

// createTemp creates a new file prefix+random in dir. O_EXCL makes the
// create fail on any existing entry, a planted link included; then another
// name is tried.
func createTemp(dir, prefix string, perm fs.FileMode) (*os.File, error) {
	for try := 0; ; try++ {
		path := filepath.Join(dir, prefix+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
		if err == nil || !errors.Is(err, fs.ErrExist) || try == 100 {
			return f, err
		}
	}
}

// SyncDir makes the directory's entries (renames, removals) durable. It
// opens dir only if it is a directory (O_DIRECTORY: a FIFO or device in its
// place is not opened).
func SyncDir(dir string) error {
	d, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return errors.Wrap(err, "open directory to sync it")
	}
	defer d.Close()
	return errors.Wrapf(d.Sync(), "sync directory %s", dir)
}

// ReadDir lists the directory at path (a link to a directory is followed).
// What the path leads to is checked (stat) before it is opened, and opened
// only as a directory (O_DIRECTORY): a FIFO, device node or file there is a
// *KindError with Dir set, never opened. A missing path is an error for
// which errors.Is(err, fs.ErrNotExist) holds.
func ReadDir(path string) ([]fs.DirEntry, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, &KindError{Path: path, Kind: Kind(fi.Mode()), Dir: true}
	}
	d, err := os.OpenFile(path, os.O_RDONLY|unix.O_DIRECTORY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, syscall.ENOTDIR) {
		if fi, serr := os.Stat(path); serr == nil {
			return nil, &KindError{Path: path, Kind: Kind(fi.Mode()), Dir: true}
		}
	}
	if err != nil {
		return nil, err
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, errors.Wrapf(err, "list %s", path)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	return entries, nil
}

// Mkdir creates the directory path with mode perm whatever the umask (its
// parent must exist). One already there is left as it is, but must be a
// directory, not a link to one (a *KindError with Dir set): dinv does not
// write through links.
func Mkdir(path string, perm fs.FileMode) error {
	err := os.Mkdir(path, perm)
	if err == nil {
		return errors.Wrapf(os.Chmod(path, perm), "create %s", path)
	}
	if !errors.Is(err, fs.ErrExist) {
		return errors.Wrapf(err, "create %s", path)
	}
	fi, err := os.Lstat(path)
	switch {
	case err != nil:
		return errors.Wrapf(err, "create %s", path)
	case !fi.IsDir():
		return &KindError{Path: path, Kind: Kind(fi.Mode()), Dir: true}
	}
	return nil
}
