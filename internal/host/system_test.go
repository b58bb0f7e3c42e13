package host

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestOSSystemOutputNamesAFailingProgramAndItsStderr(t *testing.T) {
	_, err := (osSystem{}).Output("sh", "-c", "echo 'Table does not exist' >&2; exit 3")
	if err == nil || err.Error() != "run sh: exit status 3: Table does not exist" {
		t.Errorf("error %v", err)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Errorf("error %v does not wrap the exit error", err)
	}
	if out, err := (osSystem{}).Output("sh", "-c", "echo ok"); err != nil || out != "ok\n" {
		t.Errorf("Output() = %q, %v", out, err)
	}
}

func TestParseMountInfoUnescapesPaths(t *testing.T) {
	ms := ParseMountInfo([]byte(`36 35 98:0 /a\040b /mnt\040x rw,noatime shared:1 master:2 - ext3 /dev/root rw,errors=continue` + "\nbad line\n"))
	want := []Mount{{Root: "/a b", Point: "/mnt x", Opts: []string{"rw", "noatime"}, Optional: []string{"shared:1", "master:2"},
		FSType: "ext3", Source: "/dev/root", Super: []string{"rw", "errors=continue"}}}
	if !reflect.DeepEqual(ms, want) {
		t.Errorf("got %+v", ms)
	}
}

func TestOSSystemAliveCountsOnlyRunningEngines(t *testing.T) {
	dir := t.TempDir()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(dir, "dockerd")
	if err := os.WriteFile(fake, data, 0o755); err != nil {
		t.Fatal(err)
	}
	start := func(prog string) *exec.Cmd {
		c := exec.Command(prog, "30")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Process.Kill(); c.Wait() })
		return c
	}
	engine, other := start(fake), start(sleep)
	time.Sleep(50 * time.Millisecond) // until exec has renamed them
	exited := exec.Command("true")
	if err := exited.Run(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		pid   int
		alive bool
	}{
		{"a running dockerd is alive", engine.Process.Pid, true},
		{"a running program that is no engine is not", other.Process.Pid, false},
		{"an exited process is not", exited.Process.Pid, false},
		{"dinv itself is not", os.Getpid(), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := (osSystem{}).Alive(c.pid); got != c.alive {
				t.Errorf("Alive(%d) = %v", c.pid, got)
			}
		})
	}
}

func TestOSReadsAPathsFilesystemType(t *testing.T) {
	// /dev/shm is a tmpfs on every Linux with one.
	shm, err := osSystem{}.FSType("/dev/shm")
	if err != nil {
		t.Skip("no /dev/shm:", err)
	}
	if shm != unix.TMPFS_MAGIC {
		t.Errorf("FSType(/dev/shm) = %#x, want tmpfs %#x", shm, unix.TMPFS_MAGIC)
	}
	if _, err := (osSystem{}).FSType(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("FSType of a missing path: %v, want one that is fs.ErrNotExist", err)
	}
}
