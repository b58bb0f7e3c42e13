package pki

import (
	"bytes"
	"context"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/core"
)

// TestDryRunWritesNothing: under DryRun, Ensure reads and decides only (the
// store is never called: no lock, no directory, no roll forward, no temp
// removed), reports what a real start would write and why, and fills the
// TLS file paths as a real start does.
func TestDryRunWritesNothing(t *testing.T) {
	set := fullSet(t)
	moved := serverHosts([]net.IP{net.ParseIP("10.9.9.9")}, "dinvhost", nil)
	expiry := readCertPEM(t, set[serverCertFile]).NotAfter
	cases := []struct {
		name    string
		verify  bool
		files   map[string][]byte // nil: the directory does not exist
		hosts   []string
		now     time.Time
		journal bool // a killed run's journal in the directory
		would   []string
		reissue string
	}{
		{"an absent directory under -tlsverify stays absent; all six would be generated", true, nil, testHosts, t0, false,
			[]string{caKeyFile, caCertFile, serverKeyFile, serverCertFile, clientKeyFile, clientCertFile}, ""},
		{"an empty directory under -tls stays empty; a self-signed pair would be generated", false, map[string][]byte{}, testHosts, t0, false,
			[]string{serverKeyFile, serverCertFile}, ""},
		{"a CA pair alone: the leaves would be issued from it", true, subset(set, caPair...), testHosts, t0, false,
			[]string{serverKeyFile, serverCertFile, clientKeyFile, clientCertFile}, ""},
		{"a new address: docker.crt would be re-issued, and nothing is", true, set, moved, t0, false,
			[]string{serverCertFile}, "addresses"},
		{"near expiry: docker.crt would be re-issued, and nothing is", true, set, testHosts, expiry.Add(-24 * time.Hour), false,
			[]string{serverCertFile}, "expiry"},
		{"a ready set: nothing would be written", true, set, testHosts, t0, false, nil, ""},
		{"a killed run's journal and temp files are left alone", true, set, moved, t0, true,
			[]string{serverCertFile}, "addresses"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "certs")
			if c.files != nil {
				os.Mkdir(dir, 0o755)
				writeFiles(t, dir, c.files)
			}
			if c.journal {
				if !crashed(t, request{Dir: dir, Verify: true, Hosts: moved, Now: clock(t0), store: crashAt(0)}) {
					t.Fatal("no crash")
				}
			}
			before := snapshot(t, dir)
			dirBefore, _ := os.Stat(dir)
			res, err := ensure(context.Background(), request{Dir: dir, Verify: c.verify, Hosts: c.hosts, Now: clock(c.now),
				DryRun: true, store: failStore{t}})
			if err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			unchanged(t, dir, before)
			dirAfter, err := os.Stat(dir)
			switch {
			case c.files == nil && err == nil:
				t.Error("the directory was created")
			case c.files != nil && (err != nil || !dirAfter.ModTime().Equal(dirBefore.ModTime())):
				t.Errorf("the directory changed: %v", err)
			}
			if !sameStrings(res.WouldGenerate, c.would) || res.WouldReissue != c.reissue || res.WouldRollForward != c.journal {
				t.Errorf("would generate %v, re-issue %q, roll forward %v; want %v, %q, %v",
					res.WouldGenerate, res.WouldReissue, res.WouldRollForward, c.would, c.reissue, c.journal)
			}
			if len(res.Generated) != 0 || res.Reissued != "" {
				t.Errorf("reports generated %v, re-issued %q", res.Generated, res.Reissued)
			}
			want := core.TLSFiles{ServerCert: filepath.Join(dir, serverCertFile), ServerKey: filepath.Join(dir, serverKeyFile)}
			if c.verify { // every -tlsverify case has, or would generate, the client pair
				want.CACert = filepath.Join(dir, caCertFile)
				want.ClientCA, want.ClientCert, want.ClientKey = want.CACert, filepath.Join(dir, clientCertFile), filepath.Join(dir, clientKeyFile)
			}
			if res.Files != want {
				t.Errorf("Files = %+v, want %+v", res.Files, want)
			}
		})
	}
}

// TestDryRunRefusesAsARealStart: what a real start refuses, a dry run
// refuses too, a CA that cannot issue included, writing nothing.
func TestDryRunRefusesAsARealStart(t *testing.T) {
	tmpl := caTmpl("user CA")
	tmpl.KeyUsage = 0x0
	tmpl.IsCA = false
	ca := mintRaw(t, tmpl, nil, nil)
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{caCertFile: ca.certPEM, caKeyFile: ca.keyPEM})
	before := snapshot(t, dir)
	_, err := ensure(context.Background(), request{Dir: dir, Verify: true, Hosts: testHosts, DryRun: true, store: failStore{t}})
	if err == nil || !core.IsUsage(err) || !strings.Contains(err.Error(), filepath.Join(dir, caCertFile)+": cannot issue") {
		t.Fatalf("error = %v, want ca.crt refused", err)
	}
	unchanged(t, dir, before)
}

// TestRunDryRun: the stage under -dry-run writes nothing, says at INFO what
// a real start would generate, and fills the TLS files as a real start.
func TestRunDryRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	var logs bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Name: "dinv", Level: hclog.Info, Output: &logs}).Named("pki")
	s := &core.State{Config: core.Config{Certs: core.TLSVerify, DryRun: true, CertDir: dir}, Hostname: "c0ffee"}
	if err := New().Run(core.WithLog(context.Background(), log), s); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("the certificate directory was created")
	}
	want := `[INFO]  dinv.pki: dry run: a real start would generate: files=["ca-key.pem", "ca.crt", "docker.key", "docker.crt", "docker-client.key", "docker-client.crt"] dir=` + dir
	if !strings.Contains(logs.String(), want) {
		t.Errorf("log:\n%s\nwant: %s", logs.String(), want)
	}
	if s.TLSFiles.CACert != filepath.Join(dir, caCertFile) || s.TLSFiles.ServerCert != filepath.Join(dir, serverCertFile) {
		t.Errorf("TLSFiles = %+v", s.TLSFiles)
	}
}

func readCertPEM(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	c, _, err := parseCertPEM("test", data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
