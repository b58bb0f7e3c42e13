package pki

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dinv/dinv/core"
)

// fullSet is a complete set as dinv generates it with -tlsverify for
// testHosts at t0, read back as bytes per file name.
func fullSet(t *testing.T) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	mustEnsure(t, dir, true, testHosts, t0)
	out := map[string][]byte{}
	for _, f := range allFiles {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = b
	}
	return out
}

func subset(set map[string][]byte, names ...string) map[string][]byte {
	out := map[string][]byte{}
	for _, n := range names {
		out[n] = set[n]
	}
	return out
}

var (
	caPair     = []string{caCertFile, caKeyFile}
	serverPair = []string{serverCertFile, serverKeyFile}
	clientPair = []string{clientCertFile, clientKeyFile}
)

func cat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// TestPresenceRules runs every presence combination of the rules through
// Ensure: what it generates, that files already there keep their bytes, and
// which combinations are errors naming what is present and missing.
func TestPresenceRules(t *testing.T) {
	set := fullSet(t)
	cases := []struct {
		name     string
		verify   bool
		present  []string
		generate []string // in write order; nil with wantErr
		wantErr  string
	}{
		{"tlsverify in an empty directory generates all six", true, nil,
			cat([]string{caKeyFile, caCertFile, serverKeyFile, serverCertFile, clientKeyFile, clientCertFile}), ""},
		{"tlsverify with ca.crt, docker.crt and docker.key uses them and generates nothing, not even a CA key", true,
			[]string{caCertFile, serverCertFile, serverKeyFile}, nil, ""},
		{"tlsverify with the user's three files and client files uses them", true,
			[]string{caCertFile, serverCertFile, serverKeyFile, clientCertFile, clientKeyFile}, nil, ""},
		{"tlsverify with ca.crt and ca-key.pem issues the server and client pairs", true,
			caPair, []string{serverKeyFile, serverCertFile, clientKeyFile, clientCertFile}, ""},
		{"tlsverify with the CA and server pairs issues the client pair", true,
			cat(caPair, serverPair), []string{clientKeyFile, clientCertFile}, ""},
		{"tlsverify with the CA and client pairs issues the server pair", true,
			cat(caPair, clientPair), []string{serverKeyFile, serverCertFile}, ""},
		{"tlsverify with all six generates nothing", true, allFiles, nil, ""},
		{"tlsverify with only docker.crt is an error", true, []string{serverCertFile}, nil,
			"present docker.crt; missing ca.crt, ca-key.pem, docker.key, docker-client.crt, docker-client.key"},
		{"tlsverify with only docker.key is an error", true, []string{serverKeyFile}, nil, "present docker.key;"},
		{"tlsverify with the server pair but no ca.crt is an error", true, serverPair, nil,
			"present docker.crt, docker.key; missing ca.crt, ca-key.pem"},
		{"tlsverify with only ca-key.pem is an error", true, []string{caKeyFile}, nil, "present ca-key.pem;"},
		{"tlsverify with only ca.crt is an error", true, []string{caCertFile}, nil, "present ca.crt; missing ca-key.pem"},
		{"tlsverify with ca.crt, ca-key.pem and docker-client.crt alone is an error", true,
			cat(caPair, []string{clientCertFile}), nil, "missing docker.crt, docker.key, docker-client.key"},
		{"tlsverify with only the client pair is an error", true, clientPair, nil, "present docker-client.crt, docker-client.key;"},
		{"tlsverify with ca-key.pem and the server pair is an error", true, cat([]string{caKeyFile}, serverPair), nil,
			"missing ca.crt"},
		{"tls in an empty directory self-signs a server pair only", false, nil, []string{serverKeyFile, serverCertFile}, ""},
		{"tls with the server pair uses it", false, serverPair, nil, ""},
		{"tls with the CA pair issues the server pair from it", false, caPair, []string{serverKeyFile, serverCertFile}, ""},
		{"tls with only docker.crt is an error", false, []string{serverCertFile}, nil, "docker.crt and docker.key go together"},
		{"tls with only docker.key is an error", false, []string{serverKeyFile}, nil, "docker.crt and docker.key go together"},
		{"tls with only ca.crt self-signs and leaves ca.crt alone", false, []string{caCertFile}, []string{serverKeyFile, serverCertFile}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, subset(set, c.present...))
			before := snapshot(t, dir)
			res, err := ensureAt(t, dir, c.verify, testHosts, t0)
			after := snapshot(t, dir)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !core.IsUsage(err) {
					t.Fatalf("error = %v, want a usage error containing %q", err, c.wantErr)
				}
				if !sameStrings(names(before), names(after)) {
					t.Errorf("files changed on error: %v -> %v", names(before), names(after))
				}
				return
			}
			if err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			if !sameStrings(res.Generated, c.generate) {
				t.Errorf("generated %v, want %v", res.Generated, c.generate)
			}
			for name, st := range before {
				if after[name] != st {
					t.Errorf("%s was modified", name)
				}
			}
			for _, f := range allFiles {
				_, was := before[f]
				_, is := after[f]
				gen := strings.Contains(","+strings.Join(c.generate, ",")+",", ","+f+",")
				if is != (was || gen) {
					t.Errorf("%s present after = %v; before %v, generated %v", f, is, was, gen)
				}
			}
			if c.verify {
				if err := verifyChain(t, dir, serverCertFile, x509.ExtKeyUsageServerAuth, t0); err != nil {
					t.Errorf("docker.crt does not chain to ca.crt: %v", err)
				}
			}
			want := core.TLSFiles{ServerCert: filepath.Join(dir, serverCertFile), ServerKey: filepath.Join(dir, serverKeyFile)}
			if c.verify {
				want.CACert = filepath.Join(dir, caCertFile)
			}
			if _, ok := after[clientCertFile]; ok && c.verify {
				want.ClientCA, want.ClientCert, want.ClientKey = want.CACert, filepath.Join(dir, clientCertFile), filepath.Join(dir, clientKeyFile)
			}
			if res.Files != want {
				t.Errorf("Files = %+v, want %+v", res.Files, want)
			}
		})
	}
}

// fixtures are certificates a user might bring, good and bad.
type fixtures struct {
	ca, foreign *testCA
	srvCert     []byte
	srvKey      []byte
}

func newFixtures(t *testing.T) *fixtures {
	t.Helper()
	ca, err := newTestCA(mintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := newTestCA(mintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	crt, key, err := ca.issueServer(testHosts, mintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &fixtures{ca: ca, foreign: foreign, srvCert: crt, srvKey: key}
}

func (f *fixtures) server(t *testing.T, ca *testCA, o mintOptions) (crt, key []byte) {
	t.Helper()
	crt, key, err := ca.issueServer(testHosts, o)
	if err != nil {
		t.Fatal(err)
	}
	return crt, key
}

// TestBadFiles: each file a user may bring that dinv cannot use is a usage
// error naming the file and the reason, and the directory is left as it was.
func TestBadFiles(t *testing.T) {
	f := newFixtures(t)
	now := time.Now()
	block, _ := pem.Decode(f.srvCert)
	cutDER := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes[:len(block.Bytes)-40]})
	expired, expiredKey := f.server(t, f.ca, mintOptions{NotBefore: now.AddDate(-2, 0, 0), NotAfter: now.AddDate(-1, 0, 0)})
	future, futureKey := f.server(t, f.ca, mintOptions{NotBefore: now.AddDate(0, 1, 0), NotAfter: now.AddDate(1, 0, 0)})
	foreignCrt, foreignKey := f.server(t, f.foreign, mintOptions{})
	weakCrt, weakKey := f.server(t, f.ca, mintOptions{RSABits: 1024})
	oldCA, err := newTestCA(mintOptions{NotBefore: now.AddDate(-3, 0, 0), NotAfter: now.AddDate(-1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	oldCACrt, oldCAKey := f.server(t, oldCA, mintOptions{NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0)})
	otherSrvCrt, _ := f.server(t, f.ca, mintOptions{})
	_, otherSrvKey := f.server(t, f.ca, mintOptions{})
	clientCrt, clientKey, err := f.ca.issueClient(mintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	encrypted := []byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n")

	user := func(crt, key []byte) map[string][]byte {
		return map[string][]byte{caCertFile: f.ca.CertPEM, serverCertFile: crt, serverKeyFile: key}
	}
	with := func(m map[string][]byte, name string, data []byte) map[string][]byte {
		m[name] = data
		return m
	}
	cases := []struct {
		name   string
		verify bool
		files  map[string][]byte
		file   string // the file the error must name
		reason string
	}{
		{"a PEM key in docker.crt is not a certificate", true, user(f.srvKey, f.srvKey), serverCertFile, `holds a PEM "PRIVATE KEY" block, not a certificate`},
		{"a docker.crt cut in the middle is truncated", true, user(f.srvCert[:len(f.srvCert)/2], f.srvKey), serverCertFile, "truncated"},
		{"a docker.crt whose DER is cut short does not parse", true, user(cutDER, f.srvKey), serverCertFile, "not a valid certificate"},
		{"an empty docker.crt holds no certificate", true, user([]byte{}, f.srvKey), serverCertFile, "no PEM certificate"},
		{"a docker.key of another certificate does not match", true, user(f.srvCert, otherSrvKey), serverKeyFile, "does not match the certificate in"},
		{"a docker.key that is garbage holds no key", true, user(f.srvCert, []byte("hello\n")), serverKeyFile, "no PEM private key"},
		{"an encrypted docker.key is refused", true, user(f.srvCert, encrypted), serverKeyFile, "encrypted private keys are not supported"},
		{"an expired docker.crt is refused", true, user(expired, expiredKey), serverCertFile, "has expired or is not yet valid: current time"},
		{"an expired docker.crt is refused and the date said", true, user(expired, expiredKey), serverCertFile, "expired on"},
		{"a docker.crt not yet valid is refused", true, user(future, futureKey), serverCertFile, "not valid yet"},
		{"a docker.crt signed by another CA does not chain with -tlsverify", true, user(foreignCrt, foreignKey), serverCertFile, "not signed by"},
		{"a client certificate as docker.crt is not a server certificate", true, user(clientCrt, clientKey), serverCertFile, "incompatible key usage"},
		{"an RSA key of 1024 bits is too weak", true, user(weakCrt, weakKey), serverCertFile, "RSA key of 1024 bits is too weak"},
		{"a directory in docker.crt's place is refused", true, user(nil, f.srvKey), serverCertFile, "is a directory, not a file"},
		{"a directory in ca.crt's place is refused", true, with(user(f.srvCert, f.srvKey), caCertFile, nil), caCertFile, "is a directory"},
		{"a docker.crt whose CA in ca.crt has expired is refused", true,
			map[string][]byte{caCertFile: oldCA.CertPEM, serverCertFile: oldCACrt, serverKeyFile: oldCAKey}, serverCertFile, "has expired or is not yet valid"},
		{"a server certificate as ca.crt signs no docker.crt", true, with(user(f.srvCert, f.srvKey), caCertFile, otherSrvCrt), serverCertFile, "signed by unknown authority"},
		{"a ca-key.pem of another CA does not match ca.crt", true,
			map[string][]byte{caCertFile: f.ca.CertPEM, caKeyFile: f.foreign.KeyPEM}, caKeyFile, "does not match the certificate in"},
		{"an expired docker.crt is refused with -tls too", false,
			map[string][]byte{serverCertFile: expired, serverKeyFile: expiredKey}, serverCertFile, "not accepted by clients: x509: certificate has expired"},
		{"a weak key is refused with -tls too", false,
			map[string][]byte{serverCertFile: weakCrt, serverKeyFile: weakKey}, serverCertFile, "too weak"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, c.files)
			before := snapshot(t, dir)
			_, err := ensure(context.Background(), request{Dir: dir, Verify: c.verify, Hosts: testHosts})
			if err == nil {
				t.Fatal("Ensure succeeded, want an error")
			}
			want := filepath.Join(dir, c.file) + ": "
			if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), c.reason) {
				t.Errorf("error %q, want it to name %q and say %q", err, want, c.reason)
			}
			if !core.IsUsage(err) {
				t.Errorf("error %q is not a usage error", err)
			}
			after := snapshot(t, dir)
			if len(after) != len(before) {
				t.Errorf("files changed: %v -> %v", names(before), names(after))
			}
			for n, st := range before {
				if after[n] != st {
					t.Errorf("%s modified", n)
				}
			}
		})
	}
}

// TestGeneratedMaterial checks what dinv mints: key types and sizes, file
// modes, lifetimes, usages, SANs and serials.
func TestGeneratedMaterial(t *testing.T) {
	hosts := []string{"10.1.2.3", "127.0.0.1", "::1", "dinvhost", "fd00::5", "localhost"}
	for _, kt := range []string{"ecdsa", "rsa", "rsa3072"} {
		t.Run(kt, func(t *testing.T) {
			spec, _ := parseKeyType(kt)
			dir := t.TempDir()
			if _, err := ensure(context.Background(), request{Dir: dir, Verify: true, Key: spec, Hosts: hosts, Now: clock(t0)}); err != nil {
				t.Fatal(err)
			}
			for _, f := range allFiles {
				fi, err := os.Stat(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				want := os.FileMode(0o644)
				if strings.HasSuffix(f, ".key") || strings.HasSuffix(f, ".pem") {
					want = 0o600
				}
				if fi.Mode().Perm() != want {
					t.Errorf("%s mode %v, want %v", f, fi.Mode().Perm(), want)
				}
			}
			for _, f := range []string{caKeyFile, serverKeyFile, clientKeyFile} {
				data, _ := os.ReadFile(filepath.Join(dir, f))
				key, err := parseKeyPEM(f, data)
				if err != nil {
					t.Fatal(err)
				}
				switch k := key.(type) {
				case *ecdsa.PrivateKey:
					if spec.RSA || k.Curve.Params().Name != "P-256" {
						t.Errorf("%s: ECDSA %s, want %v", f, k.Curve.Params().Name, spec)
					}
				case *rsa.PrivateKey:
					if !spec.RSA || k.N.BitLen() != spec.Bits {
						t.Errorf("%s: RSA %d bits, want %v", f, k.N.BitLen(), spec)
					}
				}
			}
			ca := readCert(t, filepath.Join(dir, caCertFile))
			srv := readCert(t, filepath.Join(dir, serverCertFile))
			cl := readCert(t, filepath.Join(dir, clientCertFile))
			if !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0 || !ca.NotAfter.Equal(t0.AddDate(10, 0, 0).Truncate(time.Second)) {
				t.Errorf("CA: IsCA %v, usage %v, NotAfter %v", ca.IsCA, ca.KeyUsage, ca.NotAfter)
			}
			for _, c := range []*x509.Certificate{srv, cl} {
				if c.IsCA || !c.NotAfter.Equal(t0.AddDate(0, 0, 825)) || c.NotBefore.After(t0) {
					t.Errorf("%s: IsCA %v, valid %v to %v", c.Subject, c.IsCA, c.NotBefore, c.NotAfter)
				}
			}
			if len(srv.ExtKeyUsage) != 1 || srv.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
				t.Errorf("server ExtKeyUsage %v", srv.ExtKeyUsage)
			}
			if len(cl.ExtKeyUsage) != 1 || cl.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
				t.Errorf("client ExtKeyUsage %v", cl.ExtKeyUsage)
			}
			if len(srv.IPAddresses) != 4 || !sameStrings(srv.DNSNames, []string{"dinvhost", "localhost"}) {
				t.Errorf("server SANs: IPs %v, DNS %v", srv.IPAddresses, srv.DNSNames)
			}
			if got := uncovered(srv, hosts); len(got) != 0 {
				t.Errorf("server does not cover %v", got)
			}
			serials := map[string]bool{}
			for _, c := range []*x509.Certificate{ca, srv, cl} {
				if c.SerialNumber.BitLen() > 128 || c.SerialNumber.BitLen() < 96 {
					t.Errorf("serial of %s has %d bits", c.Subject.CommonName, c.SerialNumber.BitLen())
				}
				serials[c.SerialNumber.String()] = true
			}
			if len(serials) != 3 {
				t.Errorf("serials repeat: %v", serials)
			}
		})
	}
}

// TestReissue covers re-issuing docker.crt when dinv owns the CA, and
// leaving a user's certificate alone.
func TestReissue(t *testing.T) {
	moved := serverHosts([]net.IP{net.ParseIP("10.9.9.9")}, "dinvhost", nil)
	cases := []struct {
		name      string
		userOwned bool // drop ca-key.pem before the second start
		hosts     []string
		now       func(srv *x509.Certificate) time.Time
		reason    string   // "" when docker.crt must stay byte-identical
		uncovered []string // reported for a user's certificate
		expiring  bool
	}{
		{"a new container address re-issues docker.crt from the same CA", false, moved,
			func(*x509.Certificate) time.Time { return t0 }, "addresses", nil, false},
		{"a certificate expiring within 30 days is re-issued", false, testHosts,
			func(s *x509.Certificate) time.Time { return s.NotAfter.Add(-29 * 24 * time.Hour) }, "expiry", nil, false},
		{"an expired certificate of dinv's CA is re-issued", false, testHosts,
			func(s *x509.Certificate) time.Time { return s.NotAfter.Add(time.Hour) }, "expiry", nil, false},
		{"a certificate with 31 days left is kept", false, testHosts,
			func(s *x509.Certificate) time.Time { return s.NotAfter.Add(-31 * 24 * time.Hour) }, "", nil, false},
		{"the same addresses in another order rewrite nothing", false, []string{"localhost", "dinvhost", "::1", "127.0.0.1"},
			func(*x509.Certificate) time.Time { return t0 }, "", nil, false},
		{"a user's certificate missing an address is kept and the address reported", true, moved,
			func(*x509.Certificate) time.Time { return t0 }, "", []string{"10.9.9.9"}, false},
		{"a user's certificate expiring within 30 days is kept and reported", true, testHosts,
			func(s *x509.Certificate) time.Time { return s.NotAfter.Add(-10 * 24 * time.Hour) }, "", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			mustEnsure(t, dir, true, testHosts, t0)
			if c.userOwned {
				if err := os.Remove(filepath.Join(dir, caKeyFile)); err != nil {
					t.Fatal(err)
				}
			}
			before := snapshot(t, dir)
			now := c.now(readCert(t, filepath.Join(dir, serverCertFile)))
			res := mustEnsure(t, dir, true, c.hosts, now)
			after := snapshot(t, dir)
			if res.Reissued != c.reason {
				t.Errorf("Reissued = %q, want %q", res.Reissued, c.reason)
			}
			for _, f := range allFiles {
				changed := before[f] != after[f]
				// docker.key is kept on re-issue (see decision.reissue).
				wantChanged := c.reason != "" && f == serverCertFile
				if changed != wantChanged {
					t.Errorf("%s changed = %v, want %v", f, changed, wantChanged)
				}
			}
			if !sameStrings(res.Uncovered, c.uncovered) || res.Expiring != c.expiring {
				t.Errorf("Uncovered %v Expiring %v, want %v %v", res.Uncovered, res.Expiring, c.uncovered, c.expiring)
			}
			if c.reason == "" {
				return
			}
			srv := readCert(t, filepath.Join(dir, serverCertFile))
			if u := uncovered(srv, c.hosts); len(u) != 0 {
				t.Errorf("re-issued docker.crt does not cover %v", u)
			}
			if srv.NotAfter.Sub(now) < renewBefore {
				t.Errorf("re-issued docker.crt expires %v, too soon after %v", srv.NotAfter, now)
			}
			if err := verifyChain(t, dir, serverCertFile, x509.ExtKeyUsageServerAuth, now); err != nil {
				t.Errorf("re-issued docker.crt does not chain to the same ca.crt: %v", err)
			}
			if err := verifyChain(t, dir, clientCertFile, x509.ExtKeyUsageClientAuth, t0); err != nil {
				t.Errorf("the old docker-client.crt no longer chains to ca.crt: %v", err)
			}
		})
	}
}

// TestNoChurn: twenty starts on unchanged addresses leave every file as it
// was, bytes and inodes, and take no lock.
func TestNoChurn(t *testing.T) {
	for _, verify := range []bool{true, false} {
		dir := t.TempDir()
		mustEnsure(t, dir, verify, testHosts, t0)
		before := snapshot(t, dir)
		for i := 0; i < 20; i++ {
			res, err := ensure(context.Background(), request{Dir: dir, Verify: verify, Hosts: testHosts,
				Now: clock(t0.Add(time.Duration(i) * time.Hour)), store: failStore{t}})
			if err != nil {
				t.Fatalf("start %d: %v", i, err)
			}
			if len(res.Generated) != 0 {
				t.Fatalf("start %d generated %v", i, res.Generated)
			}
		}
		after := snapshot(t, dir)
		if len(after) != len(before) {
			t.Fatalf("entries %v -> %v", names(before), names(after))
		}
		for n, st := range before {
			if after[n] != st {
				t.Errorf("verify=%v: %s changed", verify, n)
			}
		}
	}
}

// failStore fails the test if anything tries to write.
type failStore struct{ t *testing.T }

func (s failStore) lock(context.Context, string) (func(), error) {
	s.t.Error("lock taken")
	return nil, syscall.EROFS
}
func (s failStore) clean(string, []string) error {
	s.t.Error("clean called")
	return nil
}
func (s failStore) commit(string, []newFile) error {
	s.t.Error("commit called")
	return nil
}
func (s failStore) rollForward(string, layout) error {
	s.t.Error("rollForward called")
	return nil
}

// roStore is a read-only directory.
type roStore struct{}

func (roStore) lock(_ context.Context, dir string) (func(), error) {
	return nil, &os.PathError{Op: "open", Path: filepath.Join(dir, lockFile), Err: syscall.EROFS}
}
func (roStore) clean(string, []string) error     { return syscall.EROFS }
func (roStore) commit(string, []newFile) error   { return syscall.EROFS }
func (roStore) rollForward(string, layout) error { return syscall.EROFS }

func TestReadOnlyDirectory(t *testing.T) {
	set := fullSet(t)
	cases := []struct {
		name    string
		verify  bool
		files   map[string][]byte
		wantErr string
	}{
		{"an empty read-only directory is an error naming what cannot be generated", true, nil,
			"is not writable (read-only file system): cannot generate ca.crt, ca-key.pem, docker.crt, docker.key, docker-client.crt, docker-client.key"},
		{"an empty read-only directory with -tls is an error", false, nil, "cannot generate docker.crt, docker.key"},
		{"a read-only directory with the user's files works", true, subset(set, caCertFile, serverCertFile, serverKeyFile), ""},
		{"a read-only directory with leftover temp files and a full set works", true,
			map[string][]byte{caCertFile: set[caCertFile], serverCertFile: set[serverCertFile], serverKeyFile: set[serverKeyFile],
				tempPrefix + "ca.crt-123": []byte("-----BEGIN CERT")}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, c.files)
			_, err := ensure(context.Background(), request{Dir: dir, Verify: c.verify, Hosts: testHosts, store: roStore{}})
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("Ensure: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("error = %v, want it to name %s and say %q", err, dir, c.wantErr)
			}
			if core.IsUsage(err) {
				t.Errorf("a read-only directory is not a usage error: %v", err)
			}
		})
	}
}

// TestLeftoverTempFiles: temp files a killed run left are never read as
// certificates and are removed by the next writer.
func TestLeftoverTempFiles(t *testing.T) {
	set := fullSet(t)
	cases := []struct {
		name    string
		files   map[string][]byte
		wantGen int
	}{
		{"half-written temp files in an empty directory are ignored and removed", map[string][]byte{
			tempPrefix + "ca.crt-1": set[caCertFile][:100], tempPrefix + "ca-key.pem-2": set[caKeyFile][:50],
			tempPrefix + "docker.crt-3": set[serverCertFile]}, 6},
		{"temp files beside a full set are removed and the set kept", map[string][]byte{
			caCertFile: set[caCertFile], caKeyFile: set[caKeyFile], serverCertFile: set[serverCertFile],
			serverKeyFile: set[serverKeyFile], clientCertFile: set[clientCertFile], clientKeyFile: set[clientKeyFile],
			tempPrefix + "docker.crt-9": set[serverCertFile][:10]}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, c.files)
			res := mustEnsure(t, dir, true, testHosts, t0)
			if len(res.Generated) != c.wantGen {
				t.Errorf("generated %v, want %d files", res.Generated, c.wantGen)
			}
			for n := range snapshot(t, dir) {
				if strings.HasPrefix(n, tempPrefix) {
					t.Errorf("temp file %s left", n)
				}
			}
			if err := verifyChain(t, dir, serverCertFile, x509.ExtKeyUsageServerAuth, t0); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestInterruptedWrite: a run that dies after writing its temp files and
// before renaming any leaves no certificate behind, and the next run
// generates a full, valid set.
func TestInterruptedWrite(t *testing.T) {
	dir := t.TempDir()
	crash := osStore{afterTemps: func() { panic("killed") }}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the crash hook did not run")
			}
		}()
		ensure(context.Background(), request{Dir: dir, Verify: true, Hosts: testHosts, store: crash})
	}()
	temps := 0
	for n := range snapshot(t, dir) {
		if flatLayout.isFile(n) {
			t.Errorf("%s visible after a crash before renaming", n)
		}
		if strings.HasPrefix(n, tempPrefix) {
			temps++
		}
	}
	if temps != 6 {
		t.Errorf("%d temp files after the crash, want 6", temps)
	}
	res := mustEnsure(t, dir, true, testHosts, t0)
	if len(res.Generated) != 6 {
		t.Errorf("generated %v after the crash", res.Generated)
	}
	if got := names(snapshot(t, dir)); len(got) != 7 { // six files and the lock
		t.Errorf("entries after recovery: %v", got)
	}
}

// slowStore widens the window between deciding and writing, so that a
// missing lock or a missing re-read would show as two CAs.
func slowStore(d time.Duration) osStore {
	return osStore{afterTemps: func() { time.Sleep(d) }}
}

func TestConcurrentGoroutinesMintOneCA(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]*result, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			results[i], errs[i] = ensure(context.Background(), request{Dir: dir, Verify: true, Hosts: testHosts, store: slowStore(20 * time.Millisecond)})
		}(i)
	}
	close(start)
	wg.Wait()
	minted := 0
	for i := range results {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		for _, g := range results[i].Generated {
			if g == caCertFile {
				minted++
			}
		}
	}
	if minted != 1 {
		t.Errorf("%d CAs minted, want 1", minted)
	}
	if err := verifyChain(t, dir, serverCertFile, x509.ExtKeyUsageServerAuth, time.Now()); err != nil {
		t.Error(err)
	}
}

// TestRealReadOnlyMount repeats the read-only case on a real read-only bind
// mount where the test may mount (root with CAP_SYS_ADMIN); it skips elsewhere.
func TestRealReadOnlyMount(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
		t.Skipf("cannot bind-mount here: %v", err)
	}
	defer syscall.Unmount(dir, syscall.MNT_DETACH)
	if err := syscall.Mount("", dir, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Skipf("cannot remount read-only here: %v", err)
	}
	_, err := ensureAt(t, dir, true, testHosts, t0)
	if err == nil || !strings.Contains(err.Error(), "is not writable (read-only file system)") {
		t.Fatalf("error = %v, want a read-only directory error", err)
	}
	if n := names(snapshot(t, dir)); len(n) != 0 {
		t.Errorf("entries appeared: %v", n)
	}
}
