// Package host is the operating system as DinV's stages see it: one System
// (files, mounts, processes, the network) with one real implementation (OS),
// and what several stages read through it (the mountinfo parser, the
// capability reader, gVisor's detection). The stages' domain code works on a
// System, so their unit tests run on hosttest's fake.
package host

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// System is the part of the operating system the stages read and change:
// files, mounts, processes, the network. OS is the real one; hosttest.Fake
// the unit tests'.
type System interface {
	// Files. WriteFile makes files 0644, MkdirAll directories 0755.
	ReadFile(path string) ([]byte, error)
	WriteFile(path string, data []byte) error
	MkdirAll(path string) error
	Remove(path string) error
	RemoveAll(path string) error
	Symlink(target, link string) error
	Glob(pattern string) ([]string, error)
	IsDir(path string) bool
	// Writable reports whether this process may write in path.
	Writable(path string) bool
	Chown(path string, uid, gid int) error
	Chmod(path string, mode os.FileMode) error
	// Lstat returns the mode of path itself (a link is not followed).
	Lstat(path string) (os.FileMode, error)
	// Inode returns the inode number of path.
	Inode(path string) (uint64, error)
	Getxattr(path, name string) ([]byte, error)
	Setxattr(path, name string, data []byte) error

	// Mounts.
	Mount(source, target, fstype string, flags uintptr, data string) error
	// Unmount detaches target lazily (MNT_DETACH): it is gone from the
	// mount namespace at once, and the kernel frees it when nothing uses it.
	Unmount(target string) error
	// FSType returns the filesystem type (statfs f_type) of path.
	FSType(path string) (int64, error)

	// Processes.
	// Alive reports whether a process with pid exists, is not dinv, and
	// runs an engine's program (isEngineProgram) or cannot be named.
	Alive(pid int) bool
	// LookPath finds a program on dinv's PATH.
	LookPath(name string) (string, error)
	// Output runs a program to its end and returns its stdout. Only for
	// stages before the engine: afterwards its reaper owns every child.
	Output(name string, args ...string) (string, error)

	// The network (net.go): the net package and /proc/net.
	// Interfaces lists the interfaces in index order.
	Interfaces() ([]Interface, error)
	// DefaultRoute names the interface holding the default route (IPv4 first,
	// else IPv6), or "" when there is none.
	DefaultRoute() (string, error)
	Hostname() (string, error)
	// NftRules counts the rules iptables-nft-save would show in this network
	// namespace (nft.go); an error means nf_tables cannot be used here.
	NftRules() (int, error)

	// KernelRelease is the kernel's release as uname -r says it, "" when
	// unknown.
	KernelRelease() string
}

// CgroupRoot is where the cgroup hierarchies are mounted: the v2 tree, or a
// tmpfs holding the v1 hierarchies.
const CgroupRoot = "/sys/fs/cgroup"

// osSystem is the real System.
type osSystem struct{}

// OS returns the System of the running machine.
func OS() System { return osSystem{} }

func (osSystem) ReadFile(p string) ([]byte, error)     { return os.ReadFile(p) }
func (osSystem) WriteFile(p string, data []byte) error { return os.WriteFile(p, data, 0o644) }
func (osSystem) MkdirAll(p string) error               { return os.MkdirAll(p, 0o755) }
func (osSystem) Remove(p string) error                 { return os.Remove(p) }
func (osSystem) Symlink(target, link string) error     { return os.Symlink(target, link) }
func (osSystem) Glob(pattern string) ([]string, error) { return filepath.Glob(pattern) }
func (osSystem) LookPath(name string) (string, error)  { return exec.LookPath(name) }

func (osSystem) Writable(p string) bool { return unix.Access(p, unix.W_OK) == nil }

func (osSystem) IsDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func (osSystem) Mount(source, target, fstype string, flags uintptr, data string) error {
	return unix.Mount(source, target, fstype, flags, data)
}

// Unmount detaches lazily: Go's runtime (1.25+) keeps a file of the cpu
// hierarchy open to follow the CPU limit, and a plain unmount is then EBUSY.
// A mount nothing uses goes at once, as with a plain unmount (the overlay
// probe's); a busy one leaves the namespace at once all the same, and never
// stays behind.
func (osSystem) Unmount(target string) error { return unix.Unmount(target, unix.MNT_DETACH) }

func (osSystem) FSType(path string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return int64(st.Type), nil
}

func (osSystem) KernelRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

func (osSystem) Alive(pid int) bool {
	if pid <= 0 || pid == os.Getpid() {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && err != syscall.EPERM {
		return false
	}
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return true // it exists and cannot be named: assume it is the engine
	}
	return isEngineProgram(strings.TrimSpace(string(comm)))
}

// isEngineProgram reports whether a process name is an engine's (dockerd,
// containerd, docker-containerd, ...). A pid file naming another program is
// stale: after a container restart its pid went to an unrelated process, and
// dockerd refuses to start over a pid file of a live process.
func isEngineProgram(comm string) bool {
	return strings.Contains(comm, "docker") || strings.Contains(comm, "containerd")
}

// Output's error names the program and carries what it wrote to stderr:
// the exit status alone does not say why it failed.
func (osSystem) Output(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return string(out), fmt.Errorf("run %s: %w%s", name, err, stderrOf(err))
	}
	return string(out), nil
}

// stderrOf returns ": " and the trimmed stderr of a program that exited
// with an error, "" when there is none.
func stderrOf(err error) string {
	var exit *exec.ExitError
	if !errors.As(err, &exit) || len(bytes.TrimSpace(exit.Stderr)) == 0 {
		return ""
	}
	return ": " + string(bytes.TrimSpace(exit.Stderr))
}

func (osSystem) NftRules() (int, error) { return countNftRules() }

func (osSystem) RemoveAll(p string) error                { return os.RemoveAll(p) }
func (osSystem) Chown(p string, uid, gid int) error      { return os.Chown(p, uid, gid) }
func (osSystem) Chmod(p string, mode os.FileMode) error  { return os.Chmod(p, mode) }
func (osSystem) Setxattr(p, name string, b []byte) error { return unix.Setxattr(p, name, b, 0) }

func (osSystem) Lstat(p string) (os.FileMode, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return 0, err
	}
	return fi.Mode(), nil
}

func (osSystem) Inode(p string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return 0, &os.PathError{Op: "stat", Path: p, Err: err}
	}
	return st.Ino, nil
}

func (osSystem) Getxattr(p, name string) ([]byte, error) {
	buf := make([]byte, 64)
	n, err := unix.Getxattr(p, name, buf)
	if err != nil {
		return nil, &os.PathError{Op: "getxattr", Path: p, Err: err}
	}
	return buf[:n], nil
}
