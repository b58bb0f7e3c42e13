package pki

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/core"
)

// ensureWithin runs Ensure and fails the test if it has not returned within
// d: a read that blocks on a FIFO or never ends on /dev/zero.
func ensureWithin(t *testing.T, d time.Duration, req request) (*result, error) {
	t.Helper()
	type out struct {
		res *result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := ensure(context.Background(), req)
		done <- out{res, err}
	}()
	select {
	case o := <-done:
		return o.res, o.err
	case <-time.After(d):
		t.Fatalf("Ensure still running after %v", d)
	}
	return nil, nil
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

// TestJournalThatIsNotAFile: a .dinv-commit that is a FIFO, a link or
// too large is an error naming it, returned at once: dinv neither blocks on
// it, nor reads it without end, nor follows a link to its own file.
func TestJournalThatIsNotAFile(t *testing.T) {
	set := fullSet(t)
	cases := []struct {
		name   string
		plant  func(t *testing.T, path string)
		reason string
	}{
		{"a FIFO does not block the start", func(t *testing.T, p string) { mkfifo(t, p) }, "is not a regular file (a FIFO)"},
		{"a link to /dev/zero is not read", func(t *testing.T, p string) { symlink(t, "/dev/zero", p) },
			"is a symbolic link; dinv does not follow links where it writes"},
		{"a link to a valid journal is not followed", func(t *testing.T, p string) {
			target := filepath.Join(t.TempDir(), "journal")
			os.WriteFile(target, []byte(journalHead+"\n"+journalTail+"\n"), 0o600)
			symlink(t, target, p)
		}, "is a symbolic link"},
		{"a journal larger than 64 KiB is refused", func(t *testing.T, p string) {
			os.WriteFile(p, bytes.Repeat([]byte("x"), maxJournalBytes+1), 0o600)
		}, "larger than 64 KiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, set)
			path := filepath.Join(dir, journalFile)
			c.plant(t, path)
			_, err := ensureWithin(t, 5*time.Second, request{Dir: dir, Verify: true, Hosts: testHosts, Now: clock(t0)})
			if err == nil || !strings.Contains(err.Error(), path+": "+c.reason) {
				t.Fatalf("error = %v, want it to name %s and say %q", err, path, c.reason)
			}
		})
	}
}

// TestLockFileThatIsNotAFile: a link in .dinv.lock's place is refused, and
// the file it points to is not created; a FIFO there does not block.
func TestLockFileThatIsNotAFile(t *testing.T) {
	t.Run("a link to a path outside the directory is refused and the path not created", func(t *testing.T) {
		dir, outside := t.TempDir(), filepath.Join(t.TempDir(), "planted")
		symlink(t, outside, filepath.Join(dir, lockFile))
		_, err := ensureWithin(t, 5*time.Second, request{Dir: dir, Verify: true, Hosts: testHosts})
		want := filepath.Join(dir, lockFile) + ": is a symbolic link; dinv does not follow links where it writes"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error = %v, want %q", err, want)
		}
		if _, err := os.Lstat(outside); err == nil {
			t.Error("the link's target was created")
		}
		for _, n := range names(snapshot(t, dir)) {
			if n != lockFile {
				t.Errorf("%s written", n)
			}
		}
	})
	t.Run("a FIFO is refused without blocking", func(t *testing.T) {
		dir := t.TempDir()
		mkfifo(t, filepath.Join(dir, lockFile))
		_, err := ensureWithin(t, 5*time.Second, request{Dir: dir, Verify: true, Hosts: testHosts})
		if err == nil || !strings.Contains(err.Error(), "is not a regular file (a FIFO)") {
			t.Fatalf("error = %v, want the FIFO refused", err)
		}
	})
}

// TestRollForwardRefusesALinkedTemp: a journal naming a temp file that is a
// link is not rolled forward: the link never becomes docker.crt.
func TestRollForwardRefusesALinkedTemp(t *testing.T) {
	set := fullSet(t)
	dir := t.TempDir()
	writeFiles(t, dir, set)
	target := filepath.Join(t.TempDir(), "elsewhere")
	os.WriteFile(target, set[serverCertFile], 0o644)
	symlink(t, target, filepath.Join(dir, tempPrefix+"x"))
	writeFiles(t, dir, map[string][]byte{journalFile: []byte(journalHead + "\n" + tempPrefix + "x docker.crt\n" + journalTail + "\n")})
	before := snapshot(t, dir)
	_, err := ensureAt(t, dir, true, testHosts, t0)
	if err == nil || !strings.Contains(err.Error(), "is a symbolic link, not a file dinv wrote") {
		t.Fatalf("error = %v, want the linked temp refused", err)
	}
	if after := snapshot(t, dir); after[serverCertFile] != before[serverCertFile] {
		t.Error("docker.crt replaced")
	}
}

// TestCertificateFileKinds: the six files may be links to regular files (as
// Kubernetes mounts secrets); a FIFO, device, directory, dangling link or a
// file over 1 MiB is a usage error naming the file, returned at once.
func TestCertificateFileKinds(t *testing.T) {
	set := fullSet(t)
	cases := []struct {
		name   string
		file   string
		plant  func(t *testing.T, path string)
		reason string // "" when the set is used
	}{
		{"docker.crt as a FIFO is refused without blocking", serverCertFile, func(t *testing.T, p string) { mkfifo(t, p) },
			"is not a regular file (a FIFO)"},
		{"ca.crt as a FIFO is refused without blocking", caCertFile, func(t *testing.T, p string) { mkfifo(t, p) },
			"is not a regular file (a FIFO)"},
		{"docker.key as a link to /dev/zero is refused", serverKeyFile, func(t *testing.T, p string) { symlink(t, "/dev/zero", p) },
			"is not a regular file (a device)"},
		{"docker.crt as a link to a FIFO is refused", serverCertFile, func(t *testing.T, p string) {
			fifo := filepath.Join(t.TempDir(), "fifo")
			mkfifo(t, fifo)
			symlink(t, fifo, p)
		}, "is not a regular file (a FIFO)"},
		{"a dangling link is refused", serverCertFile, func(t *testing.T, p string) { symlink(t, "/nonexistent/docker.crt", p) },
			"is a symbolic link to a missing file"},
		{"a docker.crt over 1 MiB is refused", serverCertFile, func(t *testing.T, p string) {
			os.WriteFile(p, append(append([]byte{}, set[serverCertFile]...), bytes.Repeat([]byte("#"), maxCertBytes)...), 0o644)
		}, "larger than 1024 KiB"},
		{"links to regular files, as a Kubernetes secret mounts them, are used", serverCertFile, func(t *testing.T, p string) {
			data := filepath.Join(filepath.Dir(p), "..data")
			os.Mkdir(data, 0o755)
			os.WriteFile(filepath.Join(data, serverCertFile), set[serverCertFile], 0o644)
			symlink(t, filepath.Join("..data", serverCertFile), p)
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range set {
				if name != c.file {
					writeFiles(t, dir, map[string][]byte{name: data})
				}
			}
			path := filepath.Join(dir, c.file)
			c.plant(t, path)
			before := snapshot(t, dir)
			res, err := ensureWithin(t, 5*time.Second, request{Dir: dir, Verify: true, Hosts: testHosts, Now: clock(t0)})
			if c.reason == "" {
				if err != nil || len(res.Generated) != 0 {
					t.Fatalf("Ensure: %v, generated %v", err, res)
				}
				return
			}
			if err == nil || !core.IsUsage(err) || !strings.Contains(err.Error(), path+": "+c.reason) {
				t.Fatalf("error = %v, want a usage error naming %s and saying %q", err, path, c.reason)
			}
			unchanged(t, dir, before)
		})
	}
}

// TestLockWait: a start waiting for the lock another holds says so once,
// naming the lock file, and stops promptly when its context is cancelled.
func TestLockWait(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, lockFile)
	held, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := unix.Flock(int(held.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Name: "dinv", Level: hclog.Info, Output: &logs})
	ctx, cancel := context.WithCancel(core.WithLog(context.Background(), log))
	done := make(chan error, 1)
	go func() {
		_, err := ensure(ctx, request{Dir: dir, Verify: true, Hosts: testHosts})
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	start := time.Now()
	select {
	case err = <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Ensure still waiting 2s after its context was cancelled")
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("stopped %v after the cancel", took)
	}
	if err == nil || !strings.Contains(err.Error(), "wait for the lock "+path+" interrupted: context canceled") {
		t.Errorf("error = %v, want the interrupted wait named", err)
	}
	want := "[INFO]  dinv: waiting for the certificate directory's lock: file=" + path
	if got := logs.String(); strings.Count(got, "waiting for the certificate directory's lock") != 1 || !strings.Contains(got, want) {
		t.Errorf("log:\n%s\nwant once: %s", got, want)
	}
	for _, n := range names(snapshot(t, dir)) {
		if n != lockFile {
			t.Errorf("%s written by an interrupted start", n)
		}
	}
}
