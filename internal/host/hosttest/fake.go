// Package hosttest is the unit tests' host: Fake, an in-memory host.System.
package hosttest

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/internal/host"
)

// Fake is an in-memory host.System that records what was changed. Set its
// fields to give it files, programs and failures; read Calls and Ran for what
// the code under test did.
type Fake struct {
	// What the machine holds.
	Files         map[string]string      // path -> content
	Dirs          map[string]bool        // IsDir
	WritablePaths map[string]bool        // Writable
	Modes         map[string]os.FileMode // Lstat; missing: ENOENT
	Inodes        map[string]uint64      // Inode; missing: ENOENT
	Xattrs        map[string]string      // path + "\x00" + name -> value
	FSTypes       map[string]int64       // statfs f_type of the paths that exist; missing: ENOENT
	Live          map[int]bool           // Alive
	Programs      map[string]string      // LookPath: name -> path
	Outputs       map[string]string      // program -> stdout; missing: fails
	NftRuleCount  int                    // rules in the nf_tables iptables shows
	NoNft         bool                   // the kernel has no nf_tables
	Release       string                 // KernelRelease
	// The network: Interfaces returns Ifaces (or InterfacesErr),
	// DefaultRoute Route, Hostname Host.
	Ifaces        []host.Interface
	InterfacesErr error
	Route         string
	Host          string

	// Failures.
	ReadErrOn    map[string]error // by path
	WriteErr     func(path, data string) error
	RemoveErrOn  map[string]error // by path
	GlobErr      error
	ChownErr     error            // every chown
	MountErr     error            // every mount
	RemountErr   error            // a remount only
	MountErrOn   map[string]error // by target, for any mount but a remount
	UnmountErr   error            // every unmount
	UnmountErrOn map[string]error // by target
	FSTypeErr    error            // FSType of a path in FSTypes
	OutputErr    map[string]error // program -> its error (wins over Outputs)
	RunErr       map[string]error // a whole command line ("iptables-legacy -t nat -S") -> its error (wins over both)

	// What the code under test did. OnMount and OnUnmount, when set, see
	// every mount and unmount tried, failed ones too (Calls has those that
	// worked).
	Calls     []string // mounts, unmounts, removals, links, writes, mkdirs, chowns, chmods, xattrs
	Ran       []string // programs Output ran, with their arguments
	Statfs    []string // the paths FSType was asked about
	OnMount   func(source, target, fstype string, flags uintptr, data string)
	OnUnmount func(target string)
}

// New returns an empty Fake: no files, no programs, every map ready to fill.
func New() *Fake {
	return &Fake{Files: map[string]string{}, Dirs: map[string]bool{}, Live: map[int]bool{},
		Programs: map[string]string{}, Outputs: map[string]string{}, Modes: map[string]os.FileMode{},
		Inodes: map[string]uint64{}, Xattrs: map[string]string{}, OutputErr: map[string]error{}, FSTypes: map[string]int64{}}
}

func (f *Fake) ReadFile(p string) ([]byte, error) {
	if err := f.ReadErrOn[p]; err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	s, ok := f.Files[p]
	if !ok {
		return nil, &os.PathError{Op: "open", Path: p, Err: syscall.ENOENT}
	}
	return []byte(s), nil
}

func (f *Fake) WriteFile(p string, data []byte) error {
	if f.WriteErr != nil {
		if err := f.WriteErr(p, string(data)); err != nil {
			return err
		}
	}
	f.Calls = append(f.Calls, fmt.Sprintf("write %s %s", p, data))
	return nil
}

func (f *Fake) MkdirAll(p string) error {
	f.Calls = append(f.Calls, "mkdir "+p)
	f.Dirs[p] = true
	return nil
}

func (f *Fake) Remove(p string) error {
	if err := f.RemoveErrOn[p]; err != nil {
		return &os.PathError{Op: "remove", Path: p, Err: err}
	}
	if _, ok := f.Files[p]; !ok && !f.Dirs[p] {
		return &os.PathError{Op: "remove", Path: p, Err: syscall.ENOENT}
	}
	delete(f.Files, p)
	delete(f.Dirs, p)
	f.Calls = append(f.Calls, "remove "+p)
	return nil
}

func (f *Fake) Symlink(target, link string) error {
	f.Calls = append(f.Calls, "link "+link+" -> "+target)
	return nil
}

func (f *Fake) Glob(pattern string) ([]string, error) {
	if f.GlobErr != nil {
		return nil, f.GlobErr
	}
	var out []string
	for p := range f.Files {
		if ok, _ := filepath.Match(pattern, p); ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (f *Fake) IsDir(p string) bool    { return f.Dirs[p] }
func (f *Fake) Writable(p string) bool { return f.WritablePaths[p] }

func (f *Fake) Mount(source, target, fstype string, flags uintptr, data string) error {
	if f.OnMount != nil {
		f.OnMount(source, target, fstype, flags, data)
	}
	if f.MountErr != nil {
		return f.MountErr
	}
	if f.RemountErr != nil && flags&unix.MS_REMOUNT != 0 {
		return f.RemountErr
	}
	if err := f.MountErrOn[target]; err != nil && flags&unix.MS_REMOUNT == 0 {
		return err
	}
	f.Calls = append(f.Calls, strings.Join(strings.Fields(fmt.Sprintf("mount %s %s %s %#x %s", fstype, source, target, flags, data)), " "))
	return nil
}

func (f *Fake) Unmount(target string) error {
	if f.OnUnmount != nil {
		f.OnUnmount(target)
	}
	if f.UnmountErr != nil {
		return f.UnmountErr
	}
	if err := f.UnmountErrOn[target]; err != nil {
		return err
	}
	f.Calls = append(f.Calls, "umount "+target)
	return nil
}

func (f *Fake) Alive(pid int) bool { return f.Live[pid] }

func (f *Fake) LookPath(name string) (string, error) {
	if p, ok := f.Programs[name]; ok {
		return p, nil
	}
	return "", fmt.Errorf("%s: not found", name)
}

func (f *Fake) Output(name string, args ...string) (string, error) {
	line := strings.TrimSpace(name + " " + strings.Join(args, " "))
	f.Ran = append(f.Ran, line)
	if err := f.RunErr[line]; err != nil {
		return "", err
	}
	if err := f.OutputErr[name]; err != nil {
		return "", err
	}
	if out, ok := f.Outputs[name]; ok {
		return out, nil
	}
	return "", fmt.Errorf("%s: failed", name)
}

func (f *Fake) NftRules() (int, error) {
	if f.NoNft {
		return 0, syscall.EPROTONOSUPPORT
	}
	return f.NftRuleCount, nil
}

func (f *Fake) RemoveAll(p string) error {
	f.Calls = append(f.Calls, "remove-all "+p)
	return nil
}

func (f *Fake) Chown(p string, uid, gid int) error {
	if f.ChownErr != nil {
		return f.ChownErr
	}
	f.Calls = append(f.Calls, fmt.Sprintf("chown %s %d:%d", p, uid, gid))
	return nil
}

func (f *Fake) Chmod(p string, mode os.FileMode) error {
	f.Calls = append(f.Calls, fmt.Sprintf("chmod %s %o", p, mode))
	if m, ok := f.Modes[p]; ok {
		f.Modes[p] = m&^(os.ModePerm|os.ModeSetuid|os.ModeSetgid) | mode
	}
	return nil
}

func (f *Fake) Lstat(p string) (os.FileMode, error) {
	if m, ok := f.Modes[p]; ok {
		return m, nil
	}
	return 0, &os.PathError{Op: "lstat", Path: p, Err: syscall.ENOENT}
}

func (f *Fake) Inode(p string) (uint64, error) {
	if n, ok := f.Inodes[p]; ok {
		return n, nil
	}
	return 0, &os.PathError{Op: "stat", Path: p, Err: syscall.ENOENT}
}

func (f *Fake) Getxattr(p, name string) ([]byte, error) {
	if v, ok := f.Xattrs[p+"\x00"+name]; ok {
		return []byte(v), nil
	}
	return nil, &os.PathError{Op: "getxattr", Path: p, Err: syscall.ENODATA}
}

func (f *Fake) Setxattr(p, name string, data []byte) error {
	f.Xattrs[p+"\x00"+name] = string(data)
	f.Calls = append(f.Calls, fmt.Sprintf("setxattr %s %s %x", p, name, data))
	return nil
}

func (f *Fake) Interfaces() ([]host.Interface, error) { return f.Ifaces, f.InterfacesErr }
func (f *Fake) DefaultRoute() (string, error)         { return f.Route, nil }
func (f *Fake) Hostname() (string, error)             { return f.Host, nil }

func (f *Fake) FSType(p string) (int64, error) {
	f.Statfs = append(f.Statfs, p)
	t, ok := f.FSTypes[p]
	if !ok {
		return 0, syscall.ENOENT
	}
	return t, f.FSTypeErr
}

func (f *Fake) KernelRelease() string { return f.Release }

var _ host.System = (*Fake)(nil)
