package pki

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dinv/dinv/core"
)

// TestWriteClientBundle: the bundle is ca.pem, cert.pem and key.pem (0600)
// as the docker CLI reads them, from either layout's client files, and tar
// extracts it so; without a client pair, or with a file missing or bad,
// the error names what is missing and nothing is written.
func TestWriteClientBundle(t *testing.T) {
	files := map[string]core.TLSFiles{}
	for _, lay := range []string{LayoutFlat, LayoutDind} {
		res, err := Ensure(context.Background(), Request{Dir: t.TempDir(), Layout: lay, Verify: true, Hosts: testHosts})
		if err != nil {
			t.Fatal(err)
		}
		files[lay] = res.Files
	}
	other := files[LayoutFlat]
	other.ClientKey = files[LayoutDind].ClientKey
	gone := files[LayoutFlat]
	gone.ClientCA = filepath.Join(t.TempDir(), "ca.pem")
	noKey := files[LayoutFlat]
	noKey.ClientKey = ""
	cases := []struct {
		name    string
		files   core.TLSFiles
		wantErr string
	}{
		{"the flat layout's client files", files[LayoutFlat], ""},
		{"the dind layout's client/", files[LayoutDind], ""},
		{"no client pair: the error says clients need a certificate of the user's CA", core.TLSFiles{CACert: "/certs/ca.crt"},
			"this host has no client certificate"},
		{"a bundle without its key names key.pem", noKey, "incomplete client bundle: no file for key.pem"},
		{"a file that is gone is named", gone, gone.ClientCA + ": missing"},
		{"a key of another certificate is named", other, other.ClientKey + ": does not match the certificate in " + other.ClientCert},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			err := WriteClientBundle(&out, c.files)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error = %v, want one saying %q", err, c.wantErr)
				}
				if out.Len() != 0 {
					t.Errorf("%d bytes written on error", out.Len())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]struct {
				path string
				mode int64
			}{"ca.pem": {c.files.ClientCA, 0o644}, "cert.pem": {c.files.ClientCert, 0o644}, "key.pem": {c.files.ClientKey, 0o600}}
			tr := tar.NewReader(bytes.NewReader(out.Bytes()))
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
				data, _ := io.ReadAll(tr)
				w := want[hdr.Name]
				if hdr.Typeflag != tar.TypeReg || hdr.Mode != w.mode || string(data) != string(readBytes(t, "/", w.path)) {
					t.Errorf("%s: type %c mode %o, same bytes as %s %v", hdr.Name, hdr.Typeflag, hdr.Mode, w.path, string(data) == string(readBytes(t, "/", w.path)))
				}
			}
			if !sameStrings(got, []string{"ca.pem", "cert.pem", "key.pem"}) {
				t.Errorf("entries %v", got)
			}
			dir := t.TempDir()
			cmd := exec.Command("tar", "-x", "-C", dir)
			cmd.Stdin = bytes.NewReader(out.Bytes())
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("tar -x: %v: %s", err, b)
			}
			if fi, err := os.Stat(filepath.Join(dir, "key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("extracted key.pem: %v %v, want 0600", fi.Mode(), err)
			}
			if _, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")); err != nil {
				t.Errorf("the docker CLI could not load the extracted pair: %v", err)
			}
		})
	}
}
