//go:build reliability

package reliability

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// get does GET path on address over TLS with cfg (plain HTTP when nil) and
// returns the status and body, or the error that stopped it.
func get(address, path string, cfg *tls.Config) (int, string, error) {
	scheme := "http"
	if cfg != nil {
		scheme = "https"
	}
	return harness.Get(context.Background(), harness.HTTPClient(cfg, 10*time.Second), scheme+"://"+address+path)
}

// TestSecurityTLSVerify: clients without a certificate, with one from
// another CA and with an expired one are refused; TLS 1.2 is the minimum.
func TestSecurityTLSVerify(t *testing.T) {
	img := image(t)
	network := harness.Network(t, "tlsverify")
	d := startDinV(t, img, network, nil, "-tlsverify")
	dir := d.ClientCerts(t)
	good := harness.ClientTLSDir(t, dir)
	a := addr(t, d, network, "2376")
	figures.Time("start to ready, -tlsverify, cold (certificates generated)", d.WaitReady(t, a, good))
	caPEM := harness.ReadFile(t, filepath.Join(dir, "ca.pem"))

	t.Run("the generated client certificate is served", func(t *testing.T) {
		figures.Case(t, "attack control")
		if code, body, err := get(a, "/_ping", good); err != nil || code != 200 || body != "OK" {
			t.Fatalf("GET /_ping with the generated client certificate: %d %q %v", code, body, err)
		}
	})
	refused := func(t *testing.T, cfg *tls.Config) {
		t.Helper()
		for _, path := range []string{"/_ping", "/version", "/containers/json"} {
			code, body, err := get(a, path, cfg)
			if err == nil {
				t.Errorf("GET %s answered %d %q, want the connection refused", path, code, body)
			}
		}
	}
	t.Run("no client certificate is refused", func(t *testing.T) {
		figures.Case(t, "attack refused")
		refused(t, harness.ClientTLS(t, caPEM, nil, nil))
		r := harness.Client{Host: "tcp://" + a}.Try(t, "--tls", "--tlscacert", filepath.Join(dir, "ca.pem"), "version")
		if r.ExitCode == 0 || strings.Contains(r.Stdout, "Server:") && strings.Contains(r.Stdout, "API version") {
			t.Errorf("the docker CLI without a client certificate got the server's version:\n%v", r)
		}
	})
	t.Run("a client certificate from another CA is refused", func(t *testing.T) {
		figures.Case(t, "attack refused")
		other := harness.NewCA(t, "intruder CA")
		leaf := other.Issue(t, harness.LeafOptions{CommonName: "intruder", Client: true})
		refused(t, harness.ClientTLS(t, caPEM, leaf.CertPEM, leaf.KeyPEM))
		odir := t.TempDir()
		harness.WriteFile(t, odir, "ca.pem", caPEM, 0o644)
		harness.WriteFile(t, odir, "cert.pem", leaf.CertPEM, 0o644)
		harness.WriteFile(t, odir, "key.pem", leaf.KeyPEM, 0o600)
		if r := (harness.Client{Host: "tcp://" + a, CertPath: odir}).Try(t, "version"); r.ExitCode == 0 {
			t.Errorf("the docker CLI with another CA's certificate was served:\n%v", r)
		}
	})
	t.Run("an expired client certificate of the right CA is refused", func(t *testing.T) {
		figures.Case(t, "attack refused")
		kdir := t.TempDir()
		d.CopyFrom(t, "/certs/ca-key.pem", filepath.Join(kdir, "ca-key.pem"))
		ca := harness.LoadCA(t, caPEM, harness.ReadFile(t, filepath.Join(kdir, "ca-key.pem")))
		now := time.Now()
		expired := ca.Issue(t, harness.LeafOptions{CommonName: "client", Client: true, NotBefore: now.AddDate(-2, 0, 0), NotAfter: now.AddDate(-1, 0, 0)})
		// The same CA's valid client is served: only the dates differ.
		fresh := ca.Issue(t, harness.LeafOptions{CommonName: "client", Client: true})
		if code, _, err := get(a, "/_ping", harness.ClientTLS(t, caPEM, fresh.CertPEM, fresh.KeyPEM)); err != nil || code != 200 {
			t.Fatalf("a valid client of the same CA was not served: %d %v", code, err)
		}
		refused(t, harness.ClientTLS(t, caPEM, expired.CertPEM, expired.KeyPEM))
	})
	t.Run("TLS 1.1 is refused, 1.2 is the minimum", func(t *testing.T) {
		figures.Case(t, "attack refused")
		old := good.Clone()
		old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		_, _, err := get(a, "/_ping", old)
		if err == nil {
			t.Fatal("a TLS 1.1 client was served")
		}
		if !strings.Contains(err.Error(), "protocol version") {
			t.Errorf("a TLS 1.1 client failed, but not on the protocol version (did the client refuse on its own?): %v", err)
		}
		v12 := good.Clone()
		v12.MinVersion, v12.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
		if code, _, err := get(a, "/_ping", v12); err != nil || code != 200 {
			t.Errorf("a TLS 1.2 client was not served: %d %v", code, err)
		}
	})
	t.Run("generated private keys are 0600 and owned by root", func(t *testing.T) {
		figures.Case(t, "attack refused")
		r := d.Exec(t, "stat", "-c", "%a %u %g %n", "/certs/ca-key.pem", "/certs/docker.key", "/certs/docker-client.key")
		if r.ExitCode != 0 {
			t.Fatal(r)
		}
		for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
			if !strings.HasPrefix(line, "600 0 0 ") {
				t.Errorf("%s: want mode 600, uid 0, gid 0", line)
			}
		}
	})
	t.Run("the CA key stays in the certificate directory", func(t *testing.T) {
		figures.Case(t, "attack refused")
		kdir := t.TempDir()
		d.CopyFrom(t, "/certs/ca-key.pem", filepath.Join(kdir, "ca-key.pem"))
		body := pemBody(t, harness.ReadFile(t, filepath.Join(kdir, "ca-key.pem")))
		// One line of the key's base64, searched through the container's
		// whole filesystem, the engine's command line and the log.
		needle := body[len(body)/2-20 : len(body)/2+20]
		r := d.Exec(t, "grep", "-rlsF", "--exclude-dir=proc", "--exclude-dir=sys", "--exclude-dir=dev", "-e", needle, "/")
		if got := strings.TrimSpace(r.Stdout); got != "/certs/ca-key.pem" {
			t.Errorf("files holding the CA key: %q, want only /certs/ca-key.pem", got)
		}
		r = d.Exec(t, "sh", "-c", "tr '\\0' ' ' </proc/$(cat /var/run/docker.pid)/cmdline")
		if r.ExitCode != 0 || !strings.Contains(r.Stdout, "--tlscacert=/certs/ca.crt") {
			t.Fatalf("the engine's command line: %v", r)
		}
		if strings.Contains(r.Stdout, "ca-key") {
			t.Errorf("the engine is given the CA key: %s", r.Stdout)
		}
		if r = d.Exec(t, "ls", "-a", "/certs"); strings.Contains(r.Stdout, ".dinv-tmp-") {
			t.Errorf("temp files left in /certs:\n%s", r.Stdout)
		}
		if strings.Contains(d.Logs(t), needle) {
			t.Error("the log holds the CA key")
		}
	})
}

// pemBody is the base64 of a PEM file's first block, on one line.
func pemBody(t testing.TB, b []byte) string {
	t.Helper()
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal("no PEM block")
	}
	return base64.StdEncoding.EncodeToString(block.Bytes)
}

// TestSecurityTLSPlainHTTPGetsNoAPI: -tls serves no API over plain HTTP.
func TestSecurityTLSPlainHTTPGetsNoAPI(t *testing.T) {
	figures.Case(t, "attack refused")
	img := image(t)
	network := harness.Network(t, "tls")
	d := startDinV(t, img, network, nil, "-tls")
	a := addr(t, d, network, "2376")
	// The self-signed server certificate is the client's CA.
	certDir := t.TempDir()
	deadline := time.Now().Add(harness.ReadyTimeout)
	for (harness.Client{}).Try(t, "cp", d.Name+":/certs/docker.crt", filepath.Join(certDir, "docker.crt")).ExitCode != 0 {
		if time.Now().After(deadline) {
			t.Fatal("no /certs/docker.crt")
		}
		time.Sleep(100 * time.Millisecond)
	}
	cfg := harness.ClientTLS(t, harness.ReadFile(t, filepath.Join(certDir, "docker.crt")), nil, nil)
	d.WaitReady(t, a, cfg)
	if code, body, err := get(a, "/_ping", cfg); err != nil || code != 200 || body != "OK" {
		t.Fatalf("control: GET /_ping over TLS: %d %q %v", code, body, err)
	}
	for _, path := range []string{"/_ping", "/version", "/containers/json", "/info"} {
		code, body, err := get(a, path, nil)
		if err == nil && (code == 200 || strings.Contains(body, "ApiVersion") || body == "OK") {
			t.Errorf("plain HTTP GET %s was served: %d %q", path, code, body)
		}
		t.Logf("plain HTTP GET %s: %d %q %v", path, code, harness.FirstLine(body), err)
	}
}

// TestSecurityLocalListensOnNoTCPPort: -local has no TCP listener at all; a
// plain start (the control, which also shows the warning) has one.
func TestSecurityLocalListensOnNoTCPPort(t *testing.T) {
	img := image(t)
	network := harness.Network(t, "local")
	t.Run("plain mode warns and listens on 2375 (control)", func(t *testing.T) {
		figures.Case(t, "attack control")
		d := startDinV(t, img, network, nil)
		d.WaitReady(t, addr(t, d, network, "2375"), nil)
		ports := listening(t, d)
		if !contains(ports, 2375) {
			t.Errorf("ports listening in a plain DinV: %v, want 2375 among them", ports)
		}
		log := d.Logs(t)
		var warn string
		for _, l := range strings.Split(log, "\n") {
			if strings.Contains(l, "[WARN]") && strings.Contains(l, "root on the host") {
				warn = l
			}
		}
		if warn == "" || !strings.Contains(warn, "-tlsverify") {
			t.Errorf("no warning that anyone reaching the port is root on the host, with the -tlsverify fix:\n%s", tail(log, 15))
		}
	})
	t.Run("-local listens on no TCP port", func(t *testing.T) {
		figures.Case(t, "attack refused")
		d := startDinV(t, img, network, nil, "-local")
		deadline := time.Now().Add(harness.ReadyTimeout)
		for d.Exec(t, "/dinv", "-healthcheck").ExitCode != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the engine never answered on its socket:\n%s", tail(d.Logs(t), 20))
			}
			time.Sleep(100 * time.Millisecond)
		}
		if ports := listening(t, d); len(ports) != 0 {
			t.Errorf("TCP ports listening inside a -local DinV: %v", ports)
		}
	})
}

// listening reads /proc/net/tcp and tcp6 inside d: the local ports in LISTEN.
// One listener is the outer engine's, not DinV's, and is left out: on a
// user-defined network the machine's engine puts its embedded DNS resolver in
// every container, on 127.0.0.11 (0B00007F) at a random port.
func listening(t *testing.T, d *harness.DinV) []int {
	t.Helper()
	r := d.Exec(t, "cat", "/proc/net/tcp", "/proc/net/tcp6")
	if r.ExitCode != 0 {
		t.Fatal(r)
	}
	var ports []int
	for _, line := range strings.Split(r.Stdout, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "0A" || strings.HasPrefix(f[1], "0B00007F:") {
			continue
		}
		i := strings.LastIndexByte(f[1], ':')
		p, err := strconv.ParseUint(f[1][i+1:], 16, 16)
		if err != nil {
			t.Fatalf("bad /proc/net/tcp line %q", line)
		}
		ports = append(ports, int(p))
	}
	return ports
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// TestSecurityDebugLogsHoldNoKeyMaterial: with DEBUG=true (dinv's stages and
// the engine in debug mode), a cold -tlsverify start logs no private key.
func TestSecurityDebugLogsHoldNoKeyMaterial(t *testing.T) {
	figures.Case(t, "attack refused")
	img := image(t)
	network := harness.Network(t, "debug")
	d := startDinV(t, img, network, []string{"-e", "DEBUG=true"}, "-tlsverify")
	cfg := harness.ClientTLSDir(t, d.ClientCerts(t))
	a := addr(t, d, network, "2376")
	d.WaitReady(t, a, cfg)
	// Some API traffic, so that the engine's debug log has requests in it.
	harness.Client{Host: "tcp://" + a, CertPath: d.ClientCerts(t)}.Run(t, "info")
	certs := copyCerts(t, d)
	log := d.Logs(t)
	if !strings.Contains(log, "[DEBUG]") || !strings.Contains(log, "level=debug") {
		t.Fatalf("the log has no debug lines from dinv and the engine: DEBUG=true not in effect?\n%s", tail(log, 10))
	}
	if strings.Contains(log, "PRIVATE KEY") {
		t.Error(`the log holds "PRIVATE KEY"`)
	}
	checked := 0
	for _, f := range []string{"ca-key.pem", "docker.key", "docker-client.key"} {
		b := harness.ReadFile(t, filepath.Join(certs, f))
		for _, line := range strings.Split(string(b), "\n") {
			if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				checked++
				if strings.Contains(log, line) {
					t.Errorf("the log holds a base64 line of %s", f)
				}
			}
		}
		block, _ := pem.Decode(b)
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			key, err = x509.ParseECPrivateKey(block.Bytes)
		}
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		// The secret itself, as hex and base64, in 16-byte windows.
		secret := secretBytes(t, key)
		for i := 0; i+16 <= len(secret); i += 8 {
			w := secret[i : i+16]
			for _, enc := range []string{hex.EncodeToString(w), strings.ToUpper(hex.EncodeToString(w)), base64.StdEncoding.EncodeToString(w)[:20]} {
				checked++
				if strings.Contains(log, enc) {
					t.Errorf("the log holds bytes of %s's secret (%s)", f, enc)
				}
			}
		}
	}
	figures.Note("DEBUG=true log of a cold -tlsverify start: %d lines, searched for %d pieces of key material", strings.Count(log, "\n"), checked)
}

// secretBytes is a private key's secret: the ECDSA scalar or RSA's D.
func secretBytes(t *testing.T, key interface{}) []byte {
	t.Helper()
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		b, err := k.Bytes() // the scalar, fixed-length (D is deprecated)
		if err != nil {
			t.Fatalf("ECDSA key: %v", err)
		}
		return b
	case *rsa.PrivateKey:
		return k.D.Bytes()
	}
	t.Fatalf("unknown key type %T", key)
	return nil
}
