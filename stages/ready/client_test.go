package ready

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/stages/pki"
)

// TestClientInfoIsWrittenWhole: client.json is written mode 0600 through a
// temp file renamed into place (none left behind), replaces a link planted
// in its place without writing through it, and reads back as written.
func TestClientInfoIsWrittenWhole(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run", "dinv")
	path := filepath.Join(dir, "client.json")
	want := ClientInfo{DockerHost: "tcp://10.0.0.2:2376", TLSVerify: true, CA: "/certs/client/ca.pem",
		Cert: "/certs/client/cert.pem", Key: "/certs/client/key.pem"}
	if err := WriteClientInfo(path, ClientInfo{DockerHost: "tcp://10.9.9.9:2375"}); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "elsewhere")
	os.WriteFile(target, []byte("keep"), 0o644)
	os.Remove(path)
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if err := WriteClientInfo(path, want); err != nil {
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
	got, err := ReadClientInfo(path)
	if err != nil || *got != want {
		t.Errorf("ReadClientInfo = %+v, %v; want %+v", got, err, want)
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
		}, "read client information"},
		{"a directory", func(t *testing.T, p string) { os.Mkdir(p, 0o755) }, "not a regular file"},
		{"a file over 64 KiB", func(t *testing.T, p string) { os.WriteFile(p, bytes.Repeat([]byte(" "), 65<<10), 0o600) }, "larger than 64 KiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "client.json")
			c.plant(t, path)
			if _, err := ReadClientInfo(path); err == nil || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("error = %v, want one saying %q", err, c.reason)
			}
		})
	}
}

// TestClientBundle: `dinv -client-bundle` writes the running host's
// client bundle as a tar on stdout and the three export lines on stderr;
// without a bundle it writes nothing on stdout and says why.
func TestClientBundle(t *testing.T) {
	ensure := func(layout string) core.TLSFiles {
		res, err := pki.Ensure(context.Background(), pki.Request{Dir: t.TempDir(), Layout: layout, Verify: true, Hosts: pki.ServerHosts(nil, "h", nil)})
		if err != nil {
			t.Fatal(err)
		}
		return res.Files
	}
	flat, dind := ensure(pki.LayoutFlat), ensure(pki.LayoutDind)
	cases := []struct {
		name    string
		info    *ClientInfo // nil: no client.json
		wantErr string
	}{
		{"the flat layout's client files", &ClientInfo{DockerHost: "tcp://10.0.0.2:2376", TLSVerify: true,
			CA: flat.ClientCA, Cert: flat.ClientCert, Key: flat.ClientKey}, ""},
		{"docker:dind's client/", &ClientInfo{DockerHost: "tcp://10.0.0.2:2376", TLSVerify: true,
			CA: dind.ClientCA, Cert: dind.ClientCert, Key: dind.ClientKey}, ""},
		{"no client information: the engine has not answered", nil, "client.json: missing: the engine has not answered yet"},
		{"an engine that verifies no client has no bundle", &ClientInfo{DockerHost: "tcp://10.0.0.2:2375"},
			"the engine at tcp://10.0.0.2:2375 does not verify client certificates"},
		{"the user's certificates without a client pair: no bundle", &ClientInfo{DockerHost: "tcp://10.0.0.2:2376", TLSVerify: true},
			"this host has no client certificate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "client.json")
			if c.info != nil {
				if err := WriteClientInfo(path, *c.info); err != nil {
					t.Fatal(err)
				}
			}
			var stdout, stderr bytes.Buffer
			err := ClientBundle(&stdout, &stderr, path)
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
