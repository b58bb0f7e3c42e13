package pki

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/core"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name    string
		cfg     core.Config
		wantErr string
	}{
		{"the default key type is valid", core.Config{}, ""},
		{"rsa with extra names is valid", core.Config{KeyType: "rsa", TLSSANs: []string{"docker.example", "10.0.0.1"}}, ""},
		{"an unknown key type is a usage error naming it", core.Config{KeyType: "ed448"}, `-key-type "ed448"`},
		{"the dind layout is valid", core.Config{CertLayout: "dind"}, ""},
		{"the flat layout is valid by its name", core.Config{CertLayout: "flat"}, ""},
		{"an unknown layout is a usage error naming it", core.Config{CertLayout: "docker"}, `certificate layout "docker": want flat or dind`},
		{"a -tls-san entry with a slash is a usage error naming it", core.Config{TLSSANs: []string{"ok.example", "bad/name"}}, `-tls-san "bad/name"`},
		{"a -tls-san entry in docker:dind's syntax is valid", core.Config{TLSSANs: []string{"DNS:docker.example", "IP:10.0.0.5", "IP:fd00::1"}}, ""},
		{"a -tls-san entry of names separated by spaces is valid", core.Config{TLSSANs: []string{"DNS:a.example IP:10.0.0.5 b.example"}}, ""},
		{"a -tls-san IP: entry that is not an IP is a usage error naming it", core.Config{TLSSANs: []string{"IP:docker"}},
			`-tls-san "IP:docker": not an IP address`},
		{"a -tls-san DNS: entry that is an IP is a usage error naming it", core.Config{TLSSANs: []string{"DNS:10.0.0.5"}},
			`-tls-san "DNS:10.0.0.5": an IP address`},
		{"a bad entry among good ones in one -tls-san is named", core.Config{TLSSANs: []string{"DNS:ok.example IP:nope"}},
			`-tls-san "IP:nope"`},
		{"a -tls-san entry of separators alone is a usage error", core.Config{TLSSANs: []string{" , "}}, `-tls-san " , "`},
		{"an empty -tls-san entry is a usage error", core.Config{TLSSANs: []string{""}}, `-tls-san ""`},
		{"a -tls-san wildcard inside a label is a usage error saying why", core.Config{TLSSANs: []string{"a*.example"}},
			`-tls-san "a*.example": a wildcard must be the whole leftmost label`},
		{"a -tls-san IPv6 address with a zone is a usage error saying why", core.Config{TLSSANs: []string{"fe80::1%eth0"}},
			`-tls-san "fe80::1%eth0": an IPv6 zone cannot be in a certificate`},
		{"a bad key type and a bad name are both reported", core.Config{KeyType: "dsa", TLSSANs: []string{"a/b"}}, `-key-type "dsa": want ecdsa, rsa, rsa2048 or rsa3072; -tls-san "a/b"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := New().(core.Validator).Validate(&c.cfg, nil)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || !core.IsUsage(err) {
				t.Fatalf("Validate = %v, want an error containing %q", err, c.wantErr)
			}
		})
	}
}

func TestStageIsNotSkippedByDryRun(t *testing.T) {
	if _, ok := New().(core.DryRunSkipper); ok {
		t.Error("pki is a DryRunSkipper: -dry-run would not report the certificates")
	}
	if New().Name() != "pki" {
		t.Errorf("Name = %q", New().Name())
	}
}

// TestRun covers the stage's modes: no TLS, -local, -tls, -tlsverify; what
// it leaves in State, on disk and in the log (never key material).
func TestRun(t *testing.T) {
	cases := []struct {
		name      string
		cfg       core.Config
		wantFiles []string // in the directory afterwards
		wantCA    bool     // State.TLSFiles.CACert set
		wantTLS   bool     // State.TLSFiles set at all
		wantLog   string
	}{
		{"without TLS nothing is made", core.Config{}, nil, false, false, "nothing to do"},
		{"with -tls it makes the server pair and no CA file is served", core.Config{Certs: core.TLSServer}, []string{serverCertFile, serverKeyFile}, false, true,
			`generated=["docker.key", "docker.crt"]`},
		{"with -tlsverify it makes all six and serves ca.crt", core.Config{Certs: core.TLSVerify}, allFiles, true, true,
			`generated=["ca-key.pem", "ca.crt", "docker.key", "docker.crt", "docker-client.key", "docker-client.crt"]`},
		{"with -tlsverify and RSA it makes all six", core.Config{Certs: core.TLSVerify, KeyType: "rsa"}, allFiles, true, true,
			"key_type=rsa2048"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "certs")
			c.cfg.CertDir = dir
			var logs bytes.Buffer
			log := hclog.New(&hclog.LoggerOptions{Name: "dinv", Level: hclog.Debug, Output: &logs}).Named("pki")
			s := &core.State{Config: c.cfg, Addrs: []net.IP{net.ParseIP("172.18.0.5")}, Hostname: "c0ffee"}
			if err := New().Run(core.WithLog(context.Background(), log), s); err != nil {
				t.Fatalf("Run: %v", err)
			}
			var got []string
			for _, f := range allFiles {
				if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
					got = append(got, f)
				}
			}
			if !sameStrings(got, c.wantFiles) {
				t.Errorf("files %v, want %v", got, c.wantFiles)
			}
			if (s.TLSFiles.ServerCert != "") != c.wantTLS || (s.TLSFiles.CACert != "") != c.wantCA {
				t.Errorf("TLSFiles = %+v", s.TLSFiles)
			}
			if c.wantTLS && s.TLSFiles.ServerKey != filepath.Join(dir, serverKeyFile) {
				t.Errorf("ServerKey = %q", s.TLSFiles.ServerKey)
			}
			if !strings.Contains(logs.String(), c.wantLog) {
				t.Errorf("log lacks %q:\n%s", c.wantLog, logs.String())
			}
			if strings.Contains(logs.String(), "PRIVATE KEY") {
				t.Errorf("log holds key material:\n%s", logs.String())
			}
			for _, f := range []string{caKeyFile, serverKeyFile} {
				key, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					continue
				}
				for _, line := range strings.Split(string(key), "\n")[1:3] {
					if strings.Contains(logs.String(), line) {
						t.Errorf("log holds a line of %s", f)
					}
				}
			}
			if srv := s.TLSFiles.ServerCert; srv != "" {
				if u := uncovered(readCert(t, srv), []string{"172.18.0.5", "c0ffee", "localhost", "::1"}); len(u) != 0 {
					t.Errorf("server certificate does not cover %v", u)
				}
			}
		})
	}
}

func TestRunWarnsAboutAUsersUncoveredAddresses(t *testing.T) {
	dir := t.TempDir()
	mustEnsure(t, dir, true, testHosts, t0)
	os.Remove(filepath.Join(dir, caKeyFile)) // now the user's
	var logs bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Name: "dinv", Level: hclog.Info, Output: &logs}).Named("pki")
	s := &core.State{Config: core.Config{Certs: core.TLSVerify, CertDir: dir}, Addrs: []net.IP{net.ParseIP("10.7.7.7")}, Hostname: "dinvhost"}
	if err := New().Run(core.WithLog(context.Background(), log), s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "[WARN]  dinv.pki: server certificate does not cover these addresses") ||
		!strings.Contains(logs.String(), `uncovered=["10.7.7.7"]`) {
		t.Errorf("no warning naming 10.7.7.7:\n%s", logs.String())
	}
}

// TestRunNormalisesTLSSANs: -tls-san names reach the certificate as clients
// match them: lower-cased, without a trailing dot; docker:dind's DNS: and
// IP: entries, separated by commas or spaces, as the names they give; and
// docker always.
func TestRunNormalisesTLSSANs(t *testing.T) {
	dir := t.TempDir()
	s := &core.State{Config: core.Config{Certs: core.TLSServer, CertDir: dir,
		TLSSANs: []string{"Docker.Example.", "*.Example.COM", "::FFFF:10.0.0.1", "DNS:ci.example IP:10.0.0.9"}},
		Hostname: "C0FFEE"}
	if err := New().Run(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	srv := readCert(t, filepath.Join(dir, serverCertFile))
	if want := []string{"*.example.com", "c0ffee", "ci.example", "docker", "docker.example", "localhost"}; !sameStrings(srv.DNSNames, want) {
		t.Errorf("DNS names %q, want %q", srv.DNSNames, want)
	}
	if u := uncovered(srv, []string{"docker.example", "DOCKER.example.", "x.example.com", "10.0.0.1", "10.0.0.9", "ci.example", "docker"}); len(u) != 0 {
		t.Errorf("docker.crt does not cover %v", u)
	}
}

func TestRunWarnsAboutAClientCertificateTheEngineRefuses(t *testing.T) {
	dir := t.TempDir()
	mustEnsure(t, dir, true, testHosts, t0)
	other, err := newTestCA(mintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	crt, key, err := other.issueClient(mintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string][]byte{clientCertFile: crt, clientKeyFile: key})
	var logs bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Name: "dinv", Level: hclog.Info, Output: &logs}).Named("pki")
	s := &core.State{Config: core.Config{Certs: core.TLSVerify, CertDir: dir}, Hostname: "dinvhost"}
	if err := New().Run(core.WithLog(context.Background(), log), s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "[WARN]  dinv.pki: the engine will refuse client certificates") ||
		!strings.Contains(logs.String(), filepath.Join(dir, clientCertFile)+": not accepted by the engine: x509: certificate signed by unknown authority") {
		t.Errorf("no warning naming docker-client.crt:\n%s", logs.String())
	}
}
