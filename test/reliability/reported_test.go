//go:build reliability

package reliability

import (
	"archive/tar"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// TestWhatIsReportedVerifiedIsVerified: for configurations whose sources
// combine (dinv's flags, DOCKER_TLS_CERTDIR, the engine's --host, the
// engine's daemon.json), every TCP listener the ready line names is served
// with TLS and refuses a plain request and a TLS one without a client
// certificate, while the client bundle dinv reports is served.
func TestWhatIsReportedVerifiedIsVerified(t *testing.T) {
	img := image(t)
	for _, c := range []struct {
		name       string
		env        []string
		daemonJSON string
		args       []string
	}{
		{name: "-tlsverify with the engine's own --host on another port", args: []string{"-tlsverify", "--host=tcp://0.0.0.0:2380"}},
		{name: "DOCKER_TLS_CERTDIR with a short -H after --", env: []string{"DOCKER_TLS_CERTDIR=/certs"}, args: []string{"--", "-Htcp://0.0.0.0:2381"}},
		{name: "daemon.json's tlsverify alone, with its own hosts", daemonJSON: `{"tlsverify": true, "hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2382"]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			figures.Case(t, "attack refused")
			network := harness.Network(t, "reported")
			run := []string{}
			for _, e := range c.env {
				run = append(run, "-e", e)
			}
			if c.daemonJSON != "" {
				dir := t.TempDir()
				harness.WriteFile(t, dir, "daemon.json", []byte(c.daemonJSON), 0o644)
				run = append(run, "-v", filepath.Join(dir, "daemon.json")+":/etc/docker/daemon.json:ro")
			}
			d := startDinV(t, img, network, run, c.args...)
			info := clientInfo(t, d)
			if !info.TLSVerify {
				t.Fatalf("client.json says the engine does not verify clients: %+v", info)
			}
			good := clientBundle(t, d)
			listeners := reportedListeners(t, d.Logs(t), d.IP(t, network))
			if len(listeners) < 1 {
				t.Fatalf("no TCP listener in the ready line:\n%s", tail(d.Logs(t), 15))
			}
			caPEM := good.RootCAs
			for _, a := range listeners {
				if code, body, err := get(a, "/_ping", good); err != nil || code != 200 {
					t.Errorf("%s: the reported client bundle is not served: %d %q %v", a, code, body, err)
				}
				if code, body, err := get(a, "/_ping", nil); err == nil && code == 200 {
					t.Errorf("%s: a plain GET /_ping was answered %d %q", a, code, body)
				}
				noCert := good.Clone()
				noCert.Certificates, noCert.RootCAs = nil, caPEM
				if code, body, err := get(a, "/_ping", noCert); err == nil {
					t.Errorf("%s: a TLS request without a client certificate was answered %d %q", a, code, body)
				}
			}
		})
	}
}

// clientInfoJSON is what /run/dinv/client.json holds (stages/ready).
type clientInfoJSON struct {
	DockerHost string `json:"DOCKER_HOST"`
	Socket     string `json:"socket"`
	TLSVerify  bool   `json:"tls_verify"`
}

// clientInfo waits for d's client information (written once the engine answers).
func clientInfo(t *testing.T, d *harness.DinV) clientInfoJSON {
	t.Helper()
	deadline := time.Now().Add(harness.ReadyTimeout)
	for {
		r := d.Exec(t, "cat", "/run/dinv/client.json")
		if r.ExitCode == 0 {
			var info clientInfoJSON
			if err := json.Unmarshal([]byte(r.Stdout), &info); err != nil {
				t.Fatalf("client.json: %v\n%s", err, r.Stdout)
			}
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("no client information after %s:\n%s", harness.ReadyTimeout, tail(d.Logs(t), 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clientBundle is the TLS configuration of `dinv -client-bundle` in d.
func clientBundle(t *testing.T, d *harness.DinV) *tls.Config {
	t.Helper()
	r := d.Exec(t, "/dinv", "-client-bundle")
	if r.ExitCode != 0 {
		t.Fatalf("dinv -client-bundle: %v", r)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(strings.NewReader(r.Stdout))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the client bundle is not a tar: %v", err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = b
	}
	return harness.ClientTLS(t, files["ca.pem"], files["cert.pem"], files["key.pem"])
}

var (
	dockerHostRE = regexp.MustCompile(`DOCKER_HOST=tcp://([^ ]+)`)
	alsoRE       = regexp.MustCompile(`also="?([^" ]+)`)
)

// reportedListeners are the TCP addresses the ready line names, those on
// every interface reached at ip.
func reportedListeners(t *testing.T, log, ip string) []string {
	t.Helper()
	var line string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "engine ready") {
			line = l
		}
	}
	var out []string
	if m := dockerHostRE.FindStringSubmatch(line); m != nil {
		out = append(out, m[1])
	}
	if m := alsoRE.FindStringSubmatch(line); m != nil {
		for _, u := range strings.Split(m[1], ",") {
			host, port, err := net.SplitHostPort(strings.TrimPrefix(u, "tcp://"))
			if err != nil {
				t.Fatalf("ready line %q: %v", line, err)
			}
			if host == "0.0.0.0" || host == "::" {
				host = ip
			}
			out = append(out, net.JoinHostPort(host, port))
		}
	}
	return out
}
