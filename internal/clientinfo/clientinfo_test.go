package clientinfo

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/dinv/dinv/test/harness"
)

// TestClientInfoIsWrittenWhole: client.json is written mode 0600 through a
// temp file renamed into place (none left behind), replaces a link planted
// in its place without writing through it, and reads back as written.
func TestClientInfoIsWrittenWhole(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run", "dinv")
	path := filepath.Join(dir, "client.json")
	want := Info{DockerHost: "tcp://10.0.0.2:2376", TLSVerify: true, CA: "/certs/client/ca.pem",
		Cert: "/certs/client/cert.pem", Key: "/certs/client/key.pem"}
	if err := Write(path, Info{DockerHost: "tcp://10.9.9.9:2375"}); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "elsewhere")
	os.WriteFile(target, []byte("keep"), 0o644)
	os.Remove(path)
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("written through the link: %q", b)
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Errorf("client.json: %v %v, want a regular file 0600", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("entries %v, want client.json alone", entries)
	}
	got, err := Read(path)
	if err != nil || *got != want {
		t.Errorf("Read = %+v, %v; want %+v", got, err, want)
	}
}

func TestReadClientInfoRefusesWhatDinvDidNotWrite(t *testing.T) {
	cases := []struct {
		name   string
		plant  func(t *testing.T, path string)
		reason string
	}{
		{"a missing file: the engine has not answered", func(*testing.T, string) {}, "missing: the engine has not answered yet, or this is not a running DinV host"},
		{"a file that is not JSON", func(t *testing.T, p string) { os.WriteFile(p, []byte("DOCKER_HOST=x"), 0o600) }, "not dinv's client information"},
		{"JSON without DOCKER_HOST", func(t *testing.T, p string) { os.WriteFile(p, []byte(`{"tls_verify":true}`), 0o600) }, "no DOCKER_HOST in it"},
		{"a link", func(t *testing.T, p string) {
			target := filepath.Join(t.TempDir(), "c.json")
			os.WriteFile(target, []byte(`{"DOCKER_HOST":"tcp://x:2376"}`), 0o600)
			os.Symlink(target, p)
		}, "symbolic link"},
		{"a directory", func(t *testing.T, p string) { os.Mkdir(p, 0o755) }, "is a directory"},
		{"a file over 64 KiB", func(t *testing.T, p string) { os.WriteFile(p, bytes.Repeat([]byte(" "), 65<<10), 0o600) }, "larger than 64 KiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "client.json")
			c.plant(t, path)
			if _, err := Read(path); err == nil || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("error = %v, want one saying %q", err, c.reason)
			}
		})
	}
}

// TestBundle: `dinv -client-bundle` writes the running host's client
// bundle as a tar on stdout (ca.pem, cert.pem, key.pem 0600, as the docker
// CLI reads them) and the three export lines on stderr; without a bundle,
// or with a file missing or bad, it writes nothing on stdout and says why.
func TestBundle(t *testing.T) {
	ca := harness.NewCA(t, "dinv CA")
	client := ca.Issue(t, harness.LeafOptions{CommonName: "client", Client: true})
	other := ca.Issue(t, harness.LeafOptions{CommonName: "other", Client: true})
	dir := t.TempDir()
	caFile := harness.WriteFile(t, dir, "ca.pem", ca.CertPEM, 0o644)
	certFile := harness.WriteFile(t, dir, "cert.pem", client.CertPEM, 0o644)
	keyFile := harness.WriteFile(t, dir, "key.pem", client.KeyPEM, 0o600)
	otherKey := harness.WriteFile(t, dir, "other-key.pem", other.KeyPEM, 0o600)
	fifo := filepath.Join(dir, "fifo.pem")
	if err := mkfifo(fifo); err != nil {
		t.Fatal(err)
	}
	verify := func(ca, cert, key string) *Info {
		return &Info{DockerHost: "tcp://10.0.0.2:2376", TLSVerify: true, CA: ca, Cert: cert, Key: key}
	}
	cases := []struct {
		name    string
		info    *Info // nil: no client.json
		wantErr string
	}{
		{"the client files", verify(caFile, certFile, keyFile), ""},
		{"no client information: the engine has not answered", nil, "client.json: missing: the engine has not answered yet"},
		{"an engine that verifies no client has no bundle", &Info{DockerHost: "tcp://10.0.0.2:2375"},
			"the engine at tcp://10.0.0.2:2375 does not verify client certificates"},
		{"the user's certificates without a client pair: no bundle", verify("", "", ""), "this host has no client certificate"},
		{"a bundle without its key names key.pem", verify(caFile, certFile, ""), "incomplete client bundle: no file for key.pem"},
		{"a file that is gone is named", verify(filepath.Join(dir, "gone.pem"), certFile, keyFile), "gone.pem"},
		{"a key of another certificate is named", verify(caFile, certFile, otherKey), "other-key.pem: not a certificate and its key"},
		{"a FIFO is refused without hanging", verify(caFile, fifo, keyFile), "fifo.pem: is not a regular file (a FIFO)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "client.json")
			if c.info != nil {
				if err := Write(path, *c.info); err != nil {
					t.Fatal(err)
				}
			}
			var stdout, stderr bytes.Buffer
			err := Bundle(&stdout, &stderr, path)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error = %v, want one saying %q", err, c.wantErr)
				}
				if stdout.Len() != 0 {
					t.Errorf("%d bytes on stdout", stdout.Len())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]struct {
				data []byte
				mode int64
			}{"ca.pem": {ca.CertPEM, 0o644}, "cert.pem": {client.CertPEM, 0o644}, "key.pem": {client.KeyPEM, 0o600}}
			tr := tar.NewReader(&stdout)
			var got []string
			for {
				hdr, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(tr)
				if w := want[hdr.Name]; !bytes.Equal(b, w.data) || hdr.Mode != w.mode {
					t.Errorf("%s: mode %o, %d bytes; want mode %o and the file's bytes", hdr.Name, hdr.Mode, len(b), w.mode)
				}
				got = append(got, hdr.Name)
			}
			if strings.Join(got, ",") != "ca.pem,cert.pem,key.pem" {
				t.Errorf("tar entries %v", got)
			}
			for _, line := range []string{"export DOCKER_HOST=tcp://10.0.0.2:2376\n", "export DOCKER_TLS_VERIFY=1\n", "export DOCKER_CERT_PATH=DIR\n"} {
				if !strings.Contains(stderr.String(), line) {
					t.Errorf("stderr lacks %q:\n%s", line, stderr.String())
				}
			}
		})
	}
}

func mkfifo(path string) error { return syscall.Mkfifo(path, 0o644) }
