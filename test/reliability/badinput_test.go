//go:build reliability

package reliability

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// badCase is one bad input: dinv must exit with code, log exactly one ERROR
// line holding every want ({certs} and {config} expanded), leave the
// certificate directory byte-identical and start no engine.
type badCase struct {
	name  string
	args  []string
	yaml  string                                            // written to {config} and passed with -config
	certs func(t *testing.T, m *material) map[string][]byte // files of {certs}; a nil value is a directory
	ro    bool                                              // {certs} is an empty read-only mount
	code  int
	want  []string

	// kind is the figures' kind of a host case; "bad input, host" when empty.
	kind string
	// plant puts into {certs} what files cannot say (links, FIFOs), after
	// certs and before the snapshot (host cases).
	plant func(t *testing.T, h *harness.HostDinv)
	// check checks more once dinv has exited (host cases).
	check func(t *testing.T, h *harness.HostDinv, r harness.HostResult)
	// lock: dinv takes the directory's lock to read what it refuses (a
	// commit journal is read under it): its empty .dinv.lock may appear.
	lock bool

	// Container cases only.
	env          []string // -e
	daemonJSON   string   // the container's /etc/docker/daemon.json ({daemon})
	unprivileged bool     // without the probed privileges
}

// material is the certificates the cases are made of, minted once per test.
type material struct {
	ca, other                    *harness.CA
	server, serverOther, expired *harness.Leaf
	notYet                       *harness.Leaf
	weakCert, weakKey            []byte

	// What clients reject and what they accept.
	clientOnlyCA       *harness.CA   // a CA whose usage is limited to clientAuth
	serverOfClientOnly *harness.Leaf // a server certificate it issued
	renamedIssuer      *harness.Leaf // signed by ca's key, naming another issuer
	clientOnlyLeaf     *harness.Leaf // of ca, for client auth only
	noSignCA           *harness.CA   // a CA certificate without keyCertSign
}

func newMaterial(t *testing.T) *material {
	t.Helper()
	hosts := []string{"127.0.0.1", "::1", "localhost"}
	m := &material{ca: harness.NewCA(t, "user CA"), other: harness.NewCA(t, "other CA")}
	m.server = m.ca.Issue(t, harness.LeafOptions{CommonName: "server", Server: true, Hosts: hosts})
	m.serverOther = m.other.Issue(t, harness.LeafOptions{CommonName: "server", Server: true, Hosts: hosts})
	now := time.Now()
	m.expired = m.ca.Issue(t, harness.LeafOptions{CommonName: "server", Server: true, Hosts: hosts,
		NotBefore: now.AddDate(-2, 0, 0), NotAfter: now.AddDate(-1, 0, 0)})
	m.notYet = m.ca.Issue(t, harness.LeafOptions{CommonName: "server", Server: true, Hosts: hosts,
		NotBefore: now.AddDate(1, 0, 0), NotAfter: now.AddDate(2, 0, 0)})
	m.clientOnlyCA = harness.NewCAWith(t, harness.CAOptions{CommonName: "client-only CA", ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	m.serverOfClientOnly = m.clientOnlyCA.Issue(t, harness.LeafOptions{CommonName: "server", Server: true, Hosts: hosts})
	m.renamedIssuer = m.ca.Issue(t, harness.LeafOptions{CommonName: "server", Server: true, Hosts: hosts, IssuerName: "not the user CA"})
	m.clientOnlyLeaf = m.ca.Issue(t, harness.LeafOptions{CommonName: "server", Client: true, Hosts: hosts})
	m.noSignCA = harness.NewCAWith(t, harness.CAOptions{CommonName: "CA that cannot sign", KeyUsage: x509.KeyUsageDigitalSignature})
	weak := harness.SelfSigned(t, harness.LeafOptions{CommonName: "server", Server: true, Hosts: hosts, RSABits: 1024})
	m.weakCert, m.weakKey = weak.CertPEM, weak.KeyPEM
	return m
}

// badInputs are bad flags, YAML files and certificates, one per row.
var badInputs = []badCase{
	{name: "unknown flag", args: []string{"-bogus"}, code: 2, want: []string{"-bogus", "not defined"}},
	{name: "storage driver no engine knows", args: []string{"-storage", "nosuchfs"}, code: 2, want: []string{"-storage", "nosuchfs"}},
	{name: "insecure registry with a scheme", args: []string{"-insecure-registry", "http://reg.example:5000"}, code: 2, want: []string{"-insecure-registry", "http://reg.example:5000", "scheme"}},
	{name: "insecure registry with a path", args: []string{"-insecure-registry", "reg.example:5000/v2"}, code: 2, want: []string{"-insecure-registry", "reg.example:5000/v2"}},
	{name: "insecure registry with spaces", args: []string{"-insecure-registry", "reg example:5000"}, code: 2, want: []string{"-insecure-registry", "reg example:5000"}},
	{name: "insecure registry with an empty entry", args: []string{"-insecure-registry", "a.example,,b.example"}, code: 2, want: []string{"-insecure-registry", "empty"}},
	{name: "port above 65535", args: []string{"-port", "65536"}, code: 2, want: []string{"-port", "65536"}},
	{name: "port 0", args: []string{"-port", "0"}, code: 2, want: []string{"-port", "0"}},
	{name: "port negative", args: []string{"-port", "-1"}, code: 2, want: []string{"-port", "-1"}},
	{name: "engine version unknown", args: []string{"-engine-version", "9.9"}, code: 2, want: []string{"engine version", "9.9"}},
	// A tab indenting line 3: the error must point at line 3.
	{name: "yaml syntax error reports its line", yaml: "stages:\n  - network\n\t- storage\n", code: 2, want: []string{"{config}", "line 3"}},
	// An error yaml.v3 places right, for contrast.
	{name: "yaml syntax error, a colon in a plain value", yaml: "stages: [network, storage]\nengine: a: b\n", code: 2, want: []string{"{config}", "line 2"}},
	{name: "yaml unknown stage", yaml: "stages: [network, storage, nosuchstage, args, engine]\n", code: 2, want: []string{"{config}", "nosuchstage"}},
	{name: "yaml duplicate stage", yaml: "stages: [network, storage, storage, args, engine]\n", code: 2, want: []string{"{config}", "storage", "twice"}},
	{name: "yaml missing prerequisite", yaml: "stages: [network, storage, args, engine]\n", args: []string{"-tls"}, code: 2, want: []string{"{config}", "args", "needs", "pki"}},
	{name: "yaml wrong type", yaml: "stages: network\n", code: 2, want: []string{"{config}", "line 1"}},
	{name: "certs holding only docker.crt", args: []string{"-tlsverify"}, code: 2, want: []string{"{certs}", "docker.crt", "docker.key"},
		certs: func(t *testing.T, m *material) map[string][]byte {
			return map[string][]byte{"docker.crt": m.server.CertPEM}
		}},
	{name: "a PEM that is not a certificate", args: []string{"-tls"}, code: 2, want: []string{"{certs}/docker.crt", "not a certificate"},
		certs: func(t *testing.T, m *material) map[string][]byte {
			return map[string][]byte{"docker.crt": m.server.KeyPEM, "docker.key": m.server.KeyPEM}
		}},
	{name: "a truncated certificate", args: []string{"-tls"}, code: 2, want: []string{"{certs}/docker.crt", "truncated"},
		certs: func(t *testing.T, m *material) map[string][]byte {
			return map[string][]byte{"docker.crt": m.server.CertPEM[:len(m.server.CertPEM)/2], "docker.key": m.server.KeyPEM}
		}},
	{name: "a key that does not match its certificate", args: []string{"-tls"}, code: 2, want: []string{"{certs}/docker.key", "does not match"},
		certs: func(t *testing.T, m *material) map[string][]byte {
			return map[string][]byte{"docker.crt": m.server.CertPEM, "docker.key": m.serverOther.KeyPEM}
		}},
	{name: "an expired certificate", args: []string{"-tls"}, code: 2, want: []string{"{certs}/docker.crt", "expired"},
		certs: func(t *testing.T, m *material) map[string][]byte {
			return map[string][]byte{"docker.crt": m.expired.CertPEM, "docker.key": m.expired.KeyPEM}
		}},
	{name: "a certificate not yet valid", args: []string{"-tls"}, code: 2, want: []string{"{certs}/docker.crt", "not valid yet"},
		certs: func(t *testing.T, m *material) map[string][]byte {
			return map[string][]byte{"docker.crt": m.notYet.CertPEM, "docker.key": m.notYet.KeyPEM}
		}},
	{name: "a server certificate not signed by ca.crt", args: []string{"-tlsverify"}, code: 2, want: []string{"{certs}/docker.crt", "{certs}/ca.crt", "not signed"},
		certs: func(t *testing.T, m *material) map[string][]byte {
			return map[string][]byte{"ca.crt": m.ca.CertPEM, "docker.crt": m.serverOther.CertPEM, "docker.key": m.serverOther.KeyPEM}
		}},
	{name: "an RSA key of 1024 bits", args: []string{"-tls"}, code: 2, want: []string{"{certs}/docker.crt", "1024", "weak"},
		certs: func(t *testing.T, m *material) map[string][]byte {
			return map[string][]byte{"docker.crt": m.weakCert, "docker.key": m.weakKey}
		}},
	{name: "a directory where a file should be", args: []string{"-tls"}, code: 2, want: []string{"{certs}/docker.crt", "directory"},
		certs: func(t *testing.T, m *material) map[string][]byte {
			return map[string][]byte{"docker.crt": nil, "docker.key": m.server.KeyPEM}
		}},
	// Not a bad file but an impossible environment: exit 1.
	{name: "certs read-only and empty", args: []string{"-tlsverify"}, ro: true, code: 1, want: []string{"{certs}", "not writable"}},

	// Certificates every client would reject are refused with the
	// verifier's reason, before anything is written.
	{name: "a ca.crt limited to clientAuth", kind: kindRejected, args: []string{"-tlsverify"}, code: 2,
		want: []string{"{certs}/docker.crt", "incompatible key usage"},
		certs: func(t *testing.T, m *material) map[string][]byte {
			return map[string][]byte{"ca.crt": m.clientOnlyCA.CertPEM, "docker.crt": m.serverOfClientOnly.CertPEM, "docker.key": m.serverOfClientOnly.KeyPEM}
		}},
	{name: "a docker.crt naming another issuer than ca.crt, signed by its key", kind: kindRejected, args: []string{"-tlsverify"}, code: 2,
		want: []string{"{certs}/docker.crt", "unknown authority"},
		certs: func(t *testing.T, m *material) map[string][]byte {
			return map[string][]byte{"ca.crt": m.ca.CertPEM, "docker.crt": m.renamedIssuer.CertPEM, "docker.key": m.renamedIssuer.KeyPEM}
		}},
	{name: "-tls, a docker.crt for client auth only", kind: kindRejected, args: []string{"-tls"}, code: 2,
		want: []string{"{certs}/docker.crt", "incompatible key usage"},
		certs: func(t *testing.T, m *material) map[string][]byte {
			return map[string][]byte{"ca.crt": m.ca.CertPEM, "docker.crt": m.clientOnlyLeaf.CertPEM, "docker.key": m.clientOnlyLeaf.KeyPEM}
		}},
	{name: "a CA brought with its key that cannot sign certificates", kind: kindRejected, args: []string{"-tlsverify"}, code: 2,
		want: []string{"{certs}/ca.crt"},
		certs: func(t *testing.T, m *material) map[string][]byte {
			return map[string][]byte{"ca.crt": m.noSignCA.CertPEM, "ca-key.pem": m.noSignCA.KeyPEM}
		}},

	// The certificate directory cannot be used against dinv.
	{name: ".dinv.lock a symbolic link to a path outside", kind: kindPlanted, args: []string{"-tlsverify"}, code: 1,
		want: []string{"{certs}/.dinv.lock", "symbolic link"},
		plant: func(t *testing.T, h *harness.HostDinv) {
			if err := os.MkdirAll(filepath.Join(h.Dir, "outside"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(h.Dir, "outside", "lock"), filepath.Join(h.Certs, ".dinv.lock")); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, h *harness.HostDinv, r harness.HostResult) {
			if _, err := os.Lstat(filepath.Join(h.Dir, "outside", "lock")); err == nil {
				t.Error("dinv created the link's target outside the certificate directory")
			}
		}},
	{name: ".dinv-commit a FIFO", kind: kindPlanted, args: []string{"-tlsverify"}, code: 1, lock: true,
		want: []string{"{certs}/.dinv-commit", "FIFO"},
		plant: func(t *testing.T, h *harness.HostDinv) {
			if err := syscall.Mkfifo(filepath.Join(h.Certs, ".dinv-commit"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		check: exitsWithin(5 * time.Second)},
	{name: ".dinv-commit a symbolic link to /dev/zero", kind: kindPlanted, args: []string{"-tlsverify"}, code: 1, lock: true,
		want: []string{"{certs}/.dinv-commit", "symbolic link"},
		plant: func(t *testing.T, h *harness.HostDinv) {
			if err := os.Symlink("/dev/zero", filepath.Join(h.Certs, ".dinv-commit")); err != nil {
				t.Fatal(err)
			}
		},
		check: exitsWithin(5 * time.Second)},
}

// The figures' kinds of the host cases.
const (
	kindRejected = "certificates clients reject, refused"
	kindPlanted  = "planted in the certificate directory"
)

// exitsWithin checks that dinv exited by itself within d (no hang).
func exitsWithin(d time.Duration) func(t *testing.T, h *harness.HostDinv, r harness.HostResult) {
	return func(t *testing.T, h *harness.HostDinv, r harness.HostResult) {
		if r.TimedOut || r.Took > d {
			t.Errorf("dinv took %s to exit (timed out: %v), want at most %s", r.Took.Round(time.Millisecond), r.TimedOut, d)
		}
	}
}

// writeCerts writes files into dir (a nil value makes a directory).
func writeCerts(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		var err error
		if data == nil {
			err = os.Mkdir(p, 0o755)
		} else {
			mode := os.FileMode(0o644)
			if strings.HasSuffix(name, ".key") || strings.HasSuffix(name, "-key.pem") {
				mode = 0o600
			}
			err = os.WriteFile(p, data, mode)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestBadInputOnTheHost runs every bad input through the real dinv binary on
// the host (a real start, not -dry-run).
func TestBadInputOnTheHost(t *testing.T) {
	m := newMaterial(t)
	for _, c := range badInputs {
		c := c
		if c.env != nil || c.daemonJSON != "" || c.unprivileged {
			continue // a container case
		}
		t.Run(c.name, func(t *testing.T) {
			kind := c.kind
			if kind == "" {
				kind = "bad input, host"
			}
			figures.Case(t, kind)
			h := suite.NewDinv(t)
			args := append([]string(nil), c.args...)
			switch {
			case c.ro:
				mountReadOnlyTmpfs(t, h.Certs)
			case c.certs != nil:
				writeCerts(t, h.Certs, c.certs(t, m))
			default:
				// A plausible directory holding one unrelated file: it must
				// stay as it is too.
				writeCerts(t, h.Certs, map[string][]byte{"README": []byte("user's\n")})
			}
			if c.yaml != "" {
				if err := os.WriteFile(expand(h, "{config}"), []byte(c.yaml), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append([]string{"-config", expand(h, "{config}")}, args...)
			}
			if c.plant != nil {
				c.plant(t, h)
			}
			before := snapshot(t, h.Certs)
			r := h.Run(t, 30*time.Second, args...)
			checkRefused(t, c, r.Code, r.Output, func(s string) string { return expand(h, s) })
			if r.TimedOut {
				t.Errorf("dinv did not exit within 30 s: it was stopped\n%s", r.Output)
			}
			if r.EngineSeen != "" {
				t.Errorf("an engine started: %s appeared", r.EngineSeen)
			}
			if d := diffSnapshots(before, snapshot(t, h.Certs)); len(d) > 0 && !(c.lock && strings.Join(d, "; ") == ".dinv.lock: appeared") {
				t.Errorf("the certificate directory changed: %s", strings.Join(d, "; "))
			}
			if c.check != nil {
				c.check(t, h, r)
			}
			figures.Time("bad input refused, host (dinv exit)", r.Took)
		})
	}
}

// checkRefused checks the exit code and the one ERROR line of a bad case.
func checkRefused(t *testing.T, c badCase, code int, log string, expand func(string) string) {
	t.Helper()
	if code != c.code {
		t.Errorf("exit code %d, want %d\n%s", code, c.code, log)
	}
	lines := errorLines(log)
	if len(lines) != 1 {
		t.Errorf("%d ERROR lines, want exactly 1:\n%s", len(lines), log)
		if len(lines) == 0 {
			return
		}
	}
	for _, w := range c.want {
		if w = expand(w); !strings.Contains(lines[0], w) {
			t.Errorf("the error line does not name %q:\n%s", w, lines[0])
		}
	}
	t.Logf("exit %d: %s", code, lines[0])
}
