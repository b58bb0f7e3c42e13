package harness

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The kinds of host object a HostRecord lists.
const (
	// HostDir is a directory: the processes whose command line names it are
	// killed, the mounts under it detached, then it is removed.
	HostDir = "dir"
	// HostBridge is a network interface (a bridge): deleted.
	HostBridge = "bridge"
	// HostNetns is a named network namespace: its processes are killed,
	// then it is deleted.
	HostNetns = "netns"
)

// HostRecords is where the runs of the suites that run dinv and dockerd on
// the host itself (integration, reliability) record what they make there.
var HostRecords = filepath.Join(os.TempDir(), "dinv-test-host")

// HostRecord lists what one test process makes on the host outside the
// engine: temporary directories (with the processes started in them and
// their mounts), bridges and network namespaces. A run killed half-way
// leaves them behind; the next run of the suite removes them (OpenHostRecord)
// when the run that made them is over (see RunGoing). The record is a
// directory of HostRecords holding the run's ID and one line per object,
// written before the object is made.
type HostRecord struct {
	dir  string
	mu   sync.Mutex
	seen map[string]bool
}

// OpenHostRecord removes what killed runs of suite left on the host, saying
// so on stderr, and starts this run's record.
func OpenHostRecord(suite string) (*HostRecord, error) {
	if suite == "" || strings.ContainsAny(suite, "/-") {
		return nil, fmt.Errorf("host record: bad suite name %q", suite)
	}
	removed, kept, err := RemoveHostLeftovers(suite)
	for _, r := range removed {
		fmt.Fprintf(os.Stderr, "%s: removed a leftover of an earlier run: %s\n", suite, r)
	}
	for _, k := range kept {
		fmt.Fprintf(os.Stderr, "%s: kept (its run may still be going): %s\n", suite, k)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: removing leftovers of earlier runs on the host: %v\n", suite, err)
	}
	if err := os.MkdirAll(HostRecords, 0o700); err != nil {
		return nil, err
	}
	// Made under a temporary name and renamed once it names its run: a
	// record is never seen without its owner.
	tmp, err := os.MkdirTemp(HostRecords, ".new-")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "run"), []byte(RunID()+"\n"), 0o600); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	dir := filepath.Join(HostRecords, fmt.Sprintf("%s-%d-%s", suite, os.Getpid(), hex.EncodeToString(b)))
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return &HostRecord{dir: dir}, nil
}

// Add records an object of kind (HostDir, HostBridge, HostNetns) before it is
// made. A nil record records nothing.
func (r *HostRecord) Add(kind, name string) error {
	if r == nil {
		return nil
	}
	if strings.ContainsAny(name, "\n") || name == "" {
		return fmt.Errorf("host record: bad name %q", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[kind+" "+name] {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(r.dir, "objects"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(f, "%s %s\n", kind, name); err != nil {
		f.Close()
		return err
	}
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	r.seen[kind+" "+name] = true
	return f.Close()
}

// Close removes what the record lists that is still there (what the tests'
// cleanups missed: it is returned, to be reported), then the record.
func (r *HostRecord) Close() ([]string, error) {
	if r == nil {
		return nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	found, err := removeRecorded(r.dir)
	if err != nil {
		return found, err
	}
	return found, os.RemoveAll(r.dir)
}

// RemoveHostLeftovers removes what the records of suite's runs that are over
// list, and those records; it returns what it found and removed, and the
// records it kept because their run may still be going.
func RemoveHostLeftovers(suite string) (removed, kept []string, err error) {
	entries, err := os.ReadDir(HostRecords)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), suite+"-") {
			continue
		}
		dir := filepath.Join(HostRecords, e.Name())
		b, _ := os.ReadFile(filepath.Join(dir, "run"))
		run := strings.TrimSpace(string(b))
		if run == RunID() {
			continue
		}
		if going, why := RunGoing(run); going {
			kept = append(kept, fmt.Sprintf("%s: %s", dir, why))
			continue
		}
		found, err := removeRecorded(dir)
		removed = append(removed, found...)
		if err == nil {
			err = os.RemoveAll(dir)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", dir, err))
		}
	}
	return removed, kept, errors.Join(errs...)
}

// removeRecorded removes what the record in dir lists: processes first (of
// the directories and namespaces), then mounts and directories, bridges and
// namespaces. It returns what was still there.
func removeRecorded(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "objects"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	objects := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if kind, name, ok := strings.Cut(sc.Text(), " "); ok {
			objects[kind] = append(objects[kind], name)
		}
	}
	var found []string
	var errs []error
	var pids []int
	for _, d := range objects[HostDir] {
		for _, pid := range ProcessesNaming(d) {
			pids = append(pids, pid)
			found = append(found, fmt.Sprintf("process %d (%s)", pid, commandLine(pid)))
		}
	}
	for _, ns := range objects[HostNetns] {
		out, _ := exec.Command("ip", "netns", "pids", ns).Output()
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
				pids = append(pids, pid)
				found = append(found, fmt.Sprintf("process %d in netns %s (%s)", pid, ns, commandLine(pid)))
			}
		}
	}
	if err := KillAll(pids, 10*time.Second); err != nil {
		errs = append(errs, err)
	}
	for _, d := range objects[HostDir] {
		for _, m := range UnmountUnder(d) {
			found = append(found, "mount "+m)
		}
		if _, err := os.Lstat(d); err == nil {
			found = append(found, "directory "+d)
			if err := os.RemoveAll(d); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, br := range objects[HostBridge] {
		if _, err := net.InterfaceByName(br); err == nil {
			found = append(found, "bridge "+br)
			if out, err := exec.Command("ip", "link", "del", br).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("ip link del %s: %v: %s", br, err, out))
			}
		}
	}
	for _, ns := range objects[HostNetns] {
		if _, err := os.Lstat(filepath.Join("/run/netns", ns)); err == nil {
			found = append(found, "netns "+ns)
			if out, err := exec.Command("ip", "netns", "delete", ns).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("ip netns delete %s: %v: %s", ns, err, out))
			}
		}
	}
	return found, errors.Join(errs...)
}

// KillAll sends SIGKILL to pids and waits until they are gone.
func KillAll(pids []int, within time.Duration) error {
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(within)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				return fmt.Errorf("process %d still there %s after SIGKILL", pid, within)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// Alive reports whether pid is a process that has not exited (a zombie,
// which whoever inherited it may reap late, has).
func Alive(pid int) bool { return alive(pid) }

// alive reports whether pid is a process that has not exited (a zombie has).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || !bytes.HasPrefix(b[i+1:], []byte(" Z"))
}

// ProcessesNaming lists the processes, other than this one, one of whose
// arguments names path or a path under it (path itself, path/..., or
// --flag=path...).
func ProcessesNaming(path string) []int {
	path = filepath.Clean(path)
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		for _, arg := range strings.Split(string(b), "\x00") {
			if NamesPath(arg, path) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// NamesPath reports whether the argument arg holds path as a whole path or a
// path's beginning: followed by nothing or a slash (so /tmp/x-1 does not name
// /tmp/x-12).
func NamesPath(arg, path string) bool {
	for i := 0; ; {
		j := strings.Index(arg[i:], path)
		if j < 0 {
			return false
		}
		end := i + j + len(path)
		if end == len(arg) || arg[end] == '/' {
			return true
		}
		i = i + j + 1
	}
}

// commandLine is the command line of pid, for a report.
func commandLine(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	s := strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

// UnmountUnder detaches every mount point at or under dir, deepest first, and
// returns them.
func UnmountUnder(dir string) []string {
	dir = filepath.Clean(dir)
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && NamesPath(f[4], dir) && strings.HasPrefix(f[4], dir) {
			points = append(points, f[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	for _, p := range points {
		_ = syscall.Unmount(p, syscall.MNT_DETACH)
	}
	return points
}
