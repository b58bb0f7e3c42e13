package prepare

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// fakeSystem is an in-memory System that records what was changed.
type fakeSystem struct {
	files        map[string]string
	dirs         map[string]bool
	alive        map[int]bool
	programs     map[string]string // name -> path
	outputs      map[string]string // program -> stdout; missing: fails
	nftRules     int               // rules in the nf_tables iptables shows
	noNft        bool              // the kernel has no nf_tables
	writeErr     func(path, data string) error
	mountErr     error
	remountErr   error            // returned for a remount only
	mountErrOn   map[string]error // by target, for any mount but a remount
	unmountErrOn map[string]error // by target
	readErrOn    map[string]error // by path
	removeErrOn  map[string]error // by path
	globErr      error
	writable     map[string]bool
	modes        map[string]os.FileMode // Lstat; missing: ENOENT
	inodes       map[string]uint64
	xattrs       map[string]string // path + "\x00" + name -> value
	outputErr    map[string]error  // program -> its error (wins over outputs)
	runErr       map[string]error  // a whole command line ("iptables-legacy -t nat -S") -> its error (wins over both)
	ran          []string          // programs Output ran, with their arguments
	calls        []string          // mounts, unmounts, removals, links, writes, mkdirs, chowns, chmods, xattrs
}

func newFake() *fakeSystem {
	return &fakeSystem{files: map[string]string{}, dirs: map[string]bool{}, alive: map[int]bool{},
		programs: map[string]string{}, outputs: map[string]string{}, modes: map[string]os.FileMode{},
		inodes: map[string]uint64{}, xattrs: map[string]string{}, outputErr: map[string]error{}}
}

func (f *fakeSystem) ReadFile(p string) ([]byte, error) {
	if err := f.readErrOn[p]; err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	s, ok := f.files[p]
	if !ok {
		return nil, &os.PathError{Op: "open", Path: p, Err: syscall.ENOENT}
	}
	return []byte(s), nil
}

func (f *fakeSystem) WriteFile(p string, data []byte) error {
	if f.writeErr != nil {
		if err := f.writeErr(p, string(data)); err != nil {
			return err
		}
	}
	f.calls = append(f.calls, fmt.Sprintf("write %s %s", p, data))
	return nil
}

func (f *fakeSystem) MkdirAll(p string) error {
	f.calls = append(f.calls, "mkdir "+p)
	f.dirs[p] = true
	return nil
}

func (f *fakeSystem) Remove(p string) error {
	if err := f.removeErrOn[p]; err != nil {
		return &os.PathError{Op: "remove", Path: p, Err: err}
	}
	if _, ok := f.files[p]; !ok && !f.dirs[p] {
		return &os.PathError{Op: "remove", Path: p, Err: syscall.ENOENT}
	}
	delete(f.files, p)
	delete(f.dirs, p)
	f.calls = append(f.calls, "remove "+p)
	return nil
}

func (f *fakeSystem) Symlink(target, link string) error {
	f.calls = append(f.calls, "link "+link+" -> "+target)
	return nil
}

func (f *fakeSystem) Glob(pattern string) ([]string, error) {
	if f.globErr != nil {
		return nil, f.globErr
	}
	var out []string
	for p := range f.files {
		if ok, _ := filepath.Match(pattern, p); ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (f *fakeSystem) IsDir(p string) bool    { return f.dirs[p] }
func (f *fakeSystem) Writable(p string) bool { return f.writable[p] }

func (f *fakeSystem) Mount(source, target, fstype string, flags uintptr, data string) error {
	if f.mountErr != nil {
		return f.mountErr
	}
	if f.remountErr != nil && flags&unix.MS_REMOUNT != 0 {
		return f.remountErr
	}
	if err := f.mountErrOn[target]; err != nil && flags&unix.MS_REMOUNT == 0 {
		return err
	}
	f.calls = append(f.calls, strings.Join(strings.Fields(fmt.Sprintf("mount %s %s %s %#x %s", fstype, source, target, flags, data)), " "))
	return nil
}

func (f *fakeSystem) Unmount(target string) error {
	if err := f.unmountErrOn[target]; err != nil {
		return err
	}
	f.calls = append(f.calls, "umount "+target)
	return nil
}

func (f *fakeSystem) Alive(pid int) bool { return f.alive[pid] }

func (f *fakeSystem) LookPath(name string) (string, error) {
	if p, ok := f.programs[name]; ok {
		return p, nil
	}
	return "", fmt.Errorf("%s: not found", name)
}

func (f *fakeSystem) Output(name string, args ...string) (string, error) {
	line := strings.TrimSpace(name + " " + strings.Join(args, " "))
	f.ran = append(f.ran, line)
	if err := f.runErr[line]; err != nil {
		return "", err
	}
	if err := f.outputErr[name]; err != nil {
		return "", err
	}
	if out, ok := f.outputs[name]; ok {
		return out, nil
	}
	return "", fmt.Errorf("%s: failed", name)
}

func (f *fakeSystem) NftRules() (int, error) {
	if f.noNft {
		return 0, syscall.EPROTONOSUPPORT
	}
	return f.nftRules, nil
}

func (f *fakeSystem) RemoveAll(p string) error {
	f.calls = append(f.calls, "remove-all "+p)
	return nil
}

func (f *fakeSystem) Chown(p string, uid, gid int) error {
	f.calls = append(f.calls, fmt.Sprintf("chown %s %d:%d", p, uid, gid))
	return nil
}

func (f *fakeSystem) Chmod(p string, mode os.FileMode) error {
	f.calls = append(f.calls, fmt.Sprintf("chmod %s %o", p, mode))
	if m, ok := f.modes[p]; ok {
		f.modes[p] = m&^(os.ModePerm|os.ModeSetuid|os.ModeSetgid) | mode
	}
	return nil
}

func (f *fakeSystem) Lstat(p string) (os.FileMode, error) {
	if m, ok := f.modes[p]; ok {
		return m, nil
	}
	return 0, &os.PathError{Op: "lstat", Path: p, Err: syscall.ENOENT}
}

func (f *fakeSystem) Inode(p string) (uint64, error) {
	if n, ok := f.inodes[p]; ok {
		return n, nil
	}
	return 0, &os.PathError{Op: "stat", Path: p, Err: syscall.ENOENT}
}

func (f *fakeSystem) Getxattr(p, name string) ([]byte, error) {
	if v, ok := f.xattrs[p+"\x00"+name]; ok {
		return []byte(v), nil
	}
	return nil, &os.PathError{Op: "getxattr", Path: p, Err: syscall.ENODATA}
}

func (f *fakeSystem) Setxattr(p, name string, data []byte) error {
	f.xattrs[p+"\x00"+name] = string(data)
	f.calls = append(f.calls, fmt.Sprintf("setxattr %s %s %x", p, name, data))
	return nil
}
