package pki

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dinv/dinv/core"
)

// mkdev makes a character device node of a major number no driver has:
// opening it fails (ENXIO, or EACCES on a nodev mount), so an error that
// names it by its kind shows that dinv never opened it.
func mkdev(t *testing.T, path string) {
	t.Helper()
	if err := unix.Mknod(path, unix.S_IFCHR|0o644, int(unix.Mkdev(4000, 0))); err != nil {
		t.Fatalf("mknod %s (the test needs CAP_MKNOD): %v", path, err)
	}
	if f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0); err == nil {
		f.Close()
		t.Fatalf("%s opens: the test cannot tell an open from none", path)
	}
}

// TestNothingInTheDirectoryIsOpenedBeforeItsKindIsKnown: every path dinv
// reads in the certificate directory (the directory itself, its
// subdirectories, the certificate and key files, the journal, the lock) is
// checked before it is opened: a FIFO there is refused without hanging, a
// device node without being opened (its open would fail with another
// error), each named with its kind; nothing is written.
func TestNothingInTheDirectoryIsOpenedBeforeItsKindIsKnown(t *testing.T) {
	set := dindSet(t)
	fifo := func(t *testing.T, p string) { mkfifo(t, p) }
	with := func(files map[string][]byte, name string, data []byte) map[string][]byte {
		files[name] = data
		return files
	}
	cases := []struct {
		name   string
		layout string
		files  map[string][]byte
		path   string // relative to the directory; "." is the directory
		plant  func(t *testing.T, p string)
		reason string
	}{
		{"the directory itself a FIFO", layoutDind, nil, ".", fifo, "is a FIFO, not a directory"},
		{"the directory itself a device", layoutDind, nil, ".", mkdev, "is a device, not a directory"},
		{"server/ a FIFO", layoutDind, subset(set, cat(dindCA, dindClient)...), "server", fifo, "is a FIFO, not a directory"},
		{"ca/ a device", layoutDind, subset(set, cat(dindServer, dindClient)...), "ca", mkdev, "is a device, not a directory"},
		{"client/ a device", layoutDind, subset(set, cat(dindCA, dindServer)...), "client", mkdev, "is a device, not a directory"},
		{"server/cert.pem a device", layoutDind, subset(set, cat(dindCA, []string{dindServerCAFile, dindServerKeyFile})...), dindServerCertFile, mkdev,
			"is not a regular file (a device)"},
		{"ca/key.pem a device", layoutDind, subset(set, dindCACertFile), dindCAKeyFile, mkdev, "is not a regular file (a device)"},
		{"docker.key a device", layoutFlat, map[string][]byte{}, serverKeyFile, mkdev, "is not a regular file (a device)"},
		// The journal is read under the lock: the lock file is there already.
		{"the journal a device", layoutDind, with(subset(set, dindLayout.files...), lockFile, []byte{}), journalFile, mkdev,
			"is not a regular file (a device)"},
		{"the lock a device", layoutDind, nil, lockFile, mkdev, "is not a regular file (a device)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "certs")
			if c.path != "." {
				os.Mkdir(dir, 0o755)
				writeTree(t, dir, c.files)
				if c.name == "docker.key a device" {
					full := fullSet(t)
					writeFiles(t, dir, map[string][]byte{serverCertFile: full[serverCertFile], caCertFile: full[caCertFile]})
				}
			}
			path := filepath.Join(dir, c.path)
			c.plant(t, path)
			before := snapshotTree(t, parent)
			done := make(chan error, 1)
			go func() {
				_, err := ensure(context.Background(), request{Dir: dir, Layout: c.layout, Verify: true, Hosts: testHosts, Now: clock(t0)})
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Ensure still blocked after 5s")
			}
			if err == nil || !strings.Contains(err.Error(), filepath.Clean(path)+": "+c.reason) {
				t.Fatalf("error = %v, want it to name %s and say %q", err, path, c.reason)
			}
			if c.path != journalFile && c.path != lockFile && !core.IsUsage(err) {
				t.Errorf("not a usage error: %v", err)
			}
			unchangedTree(t, parent, before)
		})
	}
}
