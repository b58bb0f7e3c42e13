package safefile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// within runs f and fails the test when it has not returned after d: an
// open that blocks on a FIFO never returns.
func within(t *testing.T, d time.Duration, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("still blocked after %v", d)
	}
	return nil
}

// mkdev makes a character device node of a major number no driver has:
// opening it fails (ENXIO, or EACCES on a nodev mount), so a reader that
// refuses it with its kind never opened it.
func mkdev(t *testing.T, path string) {
	t.Helper()
	if err := unix.Mknod(path, unix.S_IFCHR|0o644, int(unix.Mkdev(4000, 0))); err != nil {
		t.Fatalf("mknod %s (the test needs CAP_MKNOD): %v", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err == nil {
		f.Close()
		t.Fatalf("%s opens: the test cannot tell an open from none", path)
	}
}

func wantKind(t *testing.T, err error, path, kind string) {
	t.Helper()
	var ke *KindError
	if !errors.As(err, &ke) || ke.Path != path || ke.Kind != kind {
		t.Fatalf("error = %v, want a KindError naming %s as %s", err, path, kind)
	}
}

// TestReadRefusesWhatIsNotARegularFile: each reader refuses a FIFO (without
// hanging), a device node (before opening it: its open would fail
// otherwise), a socket and a directory, naming the kind; ReadFile refuses a
// link, ReadFileFollow follows it to a regular file and checks what it leads
// to before opening that.
func TestReadRefusesWhatIsNotARegularFile(t *testing.T) {
	readers := []struct {
		name string
		read func(string, int64) ([]byte, error)
	}{{"ReadFile", ReadFile}, {"ReadFileFollow", ReadFileFollow}}
	cases := []struct {
		name   string
		plant  func(t *testing.T, p string)
		kind   string // the kind refused by ReadFile
		follow string // the kind refused by ReadFileFollow; "" when it reads "data"
	}{
		{"a FIFO is refused without hanging", func(t *testing.T, p string) {
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}, KindFIFO, KindFIFO},
		{"a device node is refused before being opened", mkdev, KindDevice, KindDevice},
		{"a socket is refused", func(t *testing.T, p string) {
			fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { unix.Close(fd) })
			if err := unix.Bind(fd, &unix.SockaddrUnix{Name: p}); err != nil {
				t.Fatal(err)
			}
		}, KindSocket, KindSocket},
		{"a directory is refused", func(t *testing.T, p string) { os.Mkdir(p, 0o755) }, KindDirectory, KindDirectory},
		{"a link to a regular file is refused or followed", func(t *testing.T, p string) {
			target := filepath.Join(t.TempDir(), "target")
			os.WriteFile(target, []byte("data"), 0o644)
			os.Symlink(target, p)
		}, KindLink, ""},
		{"a link to a FIFO is refused by both, without hanging", func(t *testing.T, p string) {
			fifo := filepath.Join(t.TempDir(), "fifo")
			if err := syscall.Mkfifo(fifo, 0o644); err != nil {
				t.Fatal(err)
			}
			os.Symlink(fifo, p)
		}, KindLink, KindFIFO},
		{"a link to a device node is refused by both, the device not opened", func(t *testing.T, p string) {
			dev := filepath.Join(t.TempDir(), "dev")
			mkdev(t, dev)
			os.Symlink(dev, p)
		}, KindLink, KindDevice},
		{"a link to a missing file is refused as such", func(t *testing.T, p string) {
			os.Symlink("/nonexistent/file", p)
		}, KindLink, KindDangling},
	}
	for _, c := range cases {
		for _, r := range readers {
			t.Run(c.name+" by "+r.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "file")
				c.plant(t, path)
				var data []byte
				err := within(t, 5*time.Second, func() (err error) {
					data, err = r.read(path, 1<<20)
					return err
				})
				want := c.kind
				if r.name == "ReadFileFollow" {
					want = c.follow
				}
				if want == "" {
					if err != nil || string(data) != "data" {
						t.Fatalf("read %q, %v; want the link's target read", data, err)
					}
					return
				}
				wantKind(t, err, path, want)
			})
		}
	}
}

// TestReadFile: a regular file is read whole; a missing one is fs.ErrNotExist;
// one larger than the limit, or one that grows past it, is a SizeError.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	os.WriteFile(path, []byte("hello"), 0o600)
	if b, err := ReadFile(path, 5); err != nil || string(b) != "hello" {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
	var se *SizeError
	if _, err := ReadFile(path, 4); !errors.As(err, &se) || !strings.Contains(err.Error(), path+": larger than") {
		t.Errorf("ReadFile over the limit: %v, want a SizeError naming the file", err)
	}
	for _, read := range []func(string, int64) ([]byte, error){ReadFile, ReadFileFollow} {
		if _, err := read(filepath.Join(dir, "missing"), 5); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a missing file: %v, want fs.ErrNotExist", err)
		}
	}
}

// TestKindErrorMessages: what the errors say, as dinv's users read them.
func TestKindErrorMessages(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{&KindError{Path: "/p", Kind: KindFIFO}, "/p: is not a regular file (a FIFO)"},
		{&KindError{Path: "/p", Kind: KindDevice}, "/p: is not a regular file (a device)"},
		{&KindError{Path: "/p", Kind: KindDirectory}, "/p: is a directory, not a file"},
		{&KindError{Path: "/p", Kind: KindLink}, "/p: is a symbolic link; dinv does not follow links where it writes"},
		{&KindError{Path: "/p", Kind: KindDangling}, "/p: is a symbolic link to a missing file"},
		{&KindError{Path: "/p", Kind: KindFIFO, Dir: true}, "/p: is a FIFO, not a directory"},
		{&SizeError{Path: "/p", Limit: 64 << 10}, "/p: larger than 64 KiB"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("%#v: %q, want %q", c.err, got, c.want)
		}
	}
}

// TestWriteFile: the file is written with its mode whatever the umask, over
// an old one, and over a link planted in its place without writing the
// link's target; no temp file stays.
func TestWriteFile(t *testing.T) {
	old := unix.Umask(0o077)
	defer unix.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "f.json")
	for _, data := range []string{"one", "two"} {
		if err := WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(path)
		if b, _ := os.ReadFile(path); err != nil || string(b) != data || fi.Mode() != 0o644 {
			t.Errorf("after writing %q: %q, %v, %v", data, b, fi.Mode(), err)
		}
	}
	target := filepath.Join(t.TempDir(), "target")
	os.WriteFile(target, []byte("keep"), 0o600)
	os.Remove(path)
	os.Symlink(target, path)
	if err := WriteFile(path, []byte("three"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the link's target holds %q", b)
	}
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("%s: %v %v, want the link replaced by a regular file", path, fi, err)
	}
	onlyFiles(t, dir, "f.json")
}

// TestWriteFileFailureLeavesTheOldFile: a write that fails after its data
// is written (the rename onto a directory fails) leaves what was there and
// no temp file.
func TestWriteFileFailureLeavesTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "d")
	os.Mkdir(path, 0o755)
	os.WriteFile(filepath.Join(path, "inside"), []byte("x"), 0o600)
	if err := WriteFile(path, []byte("data"), 0o600); err == nil {
		t.Fatal("WriteFile over a non-empty directory succeeded")
	}
	if fi, err := os.Lstat(path); err != nil || !fi.IsDir() {
		t.Errorf("%s: %v, %v, want the directory left", path, fi, err)
	}
	onlyFiles(t, dir, "d")
}

// TestWriteFileIsNeverSeenPartly: readers reading while a file is rewritten
// again and again see the old content or the new one, whole, never part of
// one nor an empty file (which a write in place would show them).
func TestWriteFileIsNeverSeenPartly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	a, b := bytes.Repeat([]byte("a"), 256<<10), bytes.Repeat([]byte("b"), 256<<10)
	if err := WriteFile(path, a, 0o644); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bad []string
	var mu sync.Mutex
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := os.ReadFile(path)
				if err != nil || !(bytes.Equal(got, a) || bytes.Equal(got, b)) {
					mu.Lock()
					bad = append(bad, "read "+strconv.Itoa(len(got))+" bytes, not one whole version")
					mu.Unlock()
				}
			}
		}()
	}
	for i := range 60 {
		data := a
		if i%2 == 0 {
			data = b
		}
		if err := WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("%d reads saw a partial file, first: %s", len(bad), bad[0])
	}
}

// TestOpenOwnAndWriteTemp: OpenOwn never opens a link (nor creates its
// target), a FIFO (without hanging) or a device node (before opening it);
// WriteTemp names its file after the final one and gives it its mode
// whatever the umask.
func TestOpenOwnAndWriteTemp(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "target")
	os.WriteFile(target, []byte("keep"), 0o600)
	link := filepath.Join(dir, "lock")
	os.Symlink(target, link)
	for _, flag := range []int{os.O_RDWR | os.O_CREATE, os.O_WRONLY | os.O_CREATE | os.O_EXCL} {
		f, err := OpenOwn(link, flag, 0o600)
		if err == nil {
			f.Write([]byte("overwritten"))
			f.Close()
			t.Errorf("OpenOwn(%#x) opened a link", flag)
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the link's target holds %q", b)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	err := within(t, 5*time.Second, func() error {
		f, err := OpenOwn(fifo, os.O_RDWR|os.O_CREATE, 0o600)
		if err == nil {
			f.Close()
		}
		return err
	})
	wantKind(t, err, fifo, KindFIFO)
	dev := filepath.Join(dir, "dev")
	mkdev(t, dev)
	_, err = OpenOwn(dev, os.O_RDWR|os.O_CREATE, 0o600)
	wantKind(t, err, dev, KindDevice)

	old := unix.Umask(0o077)
	defer unix.Umask(old)
	tmp, err := WriteTemp(filepath.Join(dir, "cert.pem"), []byte("data"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(tmp), TempPrefix+"cert.pem-") || filepath.Dir(tmp) != dir {
		t.Errorf("temp file %s, want %s/%scert.pem-*", tmp, dir, TempPrefix)
	}
	if fi, err := os.Lstat(tmp); err != nil || fi.Mode() != 0o644 {
		t.Errorf("temp file: %v, %v", fi, err)
	}
}

// TestMkdir: a directory is made with its mode whatever the umask; one
// there is kept; a link or a file in its place is refused.
func TestMkdir(t *testing.T) {
	old := unix.Umask(0o077)
	defer unix.Umask(old)
	dir := t.TempDir()
	p := filepath.Join(dir, "sub")
	if err := Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(p); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("%s: %v %v", p, fi, err)
	}
	if err := Mkdir(p, 0o700); err != nil {
		t.Errorf("an existing directory: %v", err)
	}
	link := filepath.Join(dir, "link")
	os.Symlink(p, link)
	wantKind(t, Mkdir(link, 0o755), link, KindLink)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	err := Mkdir(file, 0o755)
	wantKind(t, err, file, KindRegular)
	if !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("error = %v", err)
	}
}

// onlyFiles fails the test when dir holds other entries than names.
func onlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Errorf("%s holds %v, want %v", dir, got, names)
	}
}

// TestReadDir: a directory is listed in name order, through a link too; a
// FIFO (without hanging), a device node (never opened) or a file in its
// place is refused as not a directory, naming its kind.
func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "b"), nil, 0o600)
	os.WriteFile(filepath.Join(dir, "a"), nil, 0o600)
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(dir, link)
	for _, p := range []string{dir, link} {
		entries, err := ReadDir(p)
		if err != nil || len(entries) != 2 || entries[0].Name() != "a" || entries[1].Name() != "b" {
			t.Errorf("ReadDir(%s) = %v, %v", p, entries, err)
		}
	}
	other := t.TempDir()
	fifo, dev, file := filepath.Join(other, "fifo"), filepath.Join(other, "dev"), filepath.Join(other, "file")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	mkdev(t, dev)
	os.WriteFile(file, nil, 0o600)
	for p, kind := range map[string]string{fifo: KindFIFO, dev: KindDevice, file: KindRegular} {
		err := within(t, 5*time.Second, func() error { _, err := ReadDir(p); return err })
		wantKind(t, err, p, kind)
		if !strings.HasSuffix(err.Error(), ", not a directory") {
			t.Errorf("error = %v", err)
		}
	}
	if _, err := ReadDir(filepath.Join(other, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing directory: %v", err)
	}
}
