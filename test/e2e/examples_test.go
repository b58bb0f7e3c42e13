//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/test/harness"
)

func TestExamples(t *testing.T) {
	requireTestImages(t)
	readme := readReadme(t)
	for _, image := range dinvImages(t) {
		t.Run(image, func(t *testing.T) {
			t.Parallel() // two images at a time (go test -parallel)
			start := time.Now()
			t.Cleanup(func() { t.Logf("%s: end-to-end tests took %.1f s", image, time.Since(start).Seconds()) })
			version := engineVersion(t, image)
			t.Run("image", func(t *testing.T) { testImage(t, image) })
			t.Run("help", func(t *testing.T) { testHelp(t, image) })
			t.Run("quickstart", func(t *testing.T) { testQuickstart(t, image, version, readme["quick start"]) })
			t.Run("example 1 tlsverify with the user's certificates", func(t *testing.T) { testUserCerts(t, image, readme["example 1"]) })
			t.Run("example 2 images survive a new container on the same volumes", func(t *testing.T) { testVolumes(t, image, readme["example 2"]) })
			t.Run("example 3 DEBUG=true", func(t *testing.T) { testDebug(t, image, readme["example 3"]) })
			t.Run("example 4 user-defined network", func(t *testing.T) { testNetwork(t, image, readme["example 4"]) })
			t.Run("example 5 tlsverify with generated certificates", func(t *testing.T) { testGeneratedCerts(t, image, readme["example 5"]) })
			t.Run("example 6 insecure registry", func(t *testing.T) { testInsecureRegistry(t, image, readme["example 6"]) })
		})
	}
}

// The image's configuration: entrypoint, volumes, ports, health check, labels.
func testImage(t *testing.T, image string) {
	want := map[string]string{
		"{{json .Config.Entrypoint}}":                               `["/dinv"]`,
		"{{json .Config.Volumes}}":                                  `{"/certs":{},"/var/lib/docker":{}}`,
		"{{json .Config.ExposedPorts}}":                             `{"2375/tcp":{},"2376/tcp":{}}`,
		"{{json .Config.Healthcheck.Test}}":                         `["CMD","/dinv","-healthcheck"]`,
		`{{index .Config.Labels "org.opencontainers.image.title"}}`: "DinV",
	}
	for format, w := range want {
		if got := (harness.Client{}).Run(t, "image", "inspect", "-f", format, image); got != w {
			t.Errorf("%s: %s, want %s", format, got, w)
		}
	}
	// The docker CLI is in the image too.
	r := harness.Client{}.Try(t, "run", "--rm", "--entrypoint", "docker", image, "--version")
	if r.ExitCode != 0 || !strings.HasPrefix(r.Stdout, "Docker version") {
		t.Errorf("docker CLI in the image:\n%s", r)
	}
}

// docker run IMAGE -h: the usage on stdout, nothing else, exit 0.
func testHelp(t *testing.T, image string) {
	name := harness.Name("help")
	t.Cleanup(func() { harness.Client{}.Try(t, "rm", "-f", "-v", name) })
	r := harness.Client{}.Try(t, "run", "--name", name, image, "-h")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d, want 0\n%s", r.ExitCode, r)
	}
	if !strings.HasPrefix(r.Stdout, "Usage of /dinv:\n") {
		t.Errorf("stdout does not start with the usage line:\n%s", r.Stdout)
	}
	if entry := harness.MissingVICUsage(r.Stdout); entry != "" {
		t.Errorf("usage lacks, or has out of order:\n%s\nin:\n%s", entry, r.Stdout)
	}
	// No engine: dinv prints nothing but the usage, and the container's
	// processes are gone with it.
	if r.Stderr != "" {
		t.Errorf("stderr not empty, something started:\n%s", r.Stderr)
	}
}

// The README's quick start: docker run -p 12375:2375 -d IMAGE; docker -H
// 127.0.0.1:12375 info. The second line's output names the engine's version
// and overlay2; the host then answers over the port, inner containers run
// and reach each other.
func testQuickstart(t *testing.T, image, version string, e readmeExample) {
	w := newReadmeWorld(t, image)
	_, info := w.runAll(t, e, nil)
	d := w.container()
	port := w.port("12375")
	ready := d.WaitReady(t, "127.0.0.1:"+port, nil)
	t.Logf("%s: ready %d ms after the container started", image, ready.Milliseconds())
	host := harness.Client{Host: "tcp://127.0.0.1:" + port}
	for _, want := range []string{"Server Version: " + version, "Storage Driver: " + overlayDriver(version)} {
		if !strings.Contains(info, want) {
			t.Errorf("docker info lacks %q:\n%s", want, info)
		}
	}
	// Without DEBUG, no debug lines from dinv or the engine.
	if logs := d.Logs(t); strings.Contains(logs, "[DEBUG]") || strings.Contains(logs, "level=debug") {
		t.Errorf("debug lines without DEBUG:\n%s", logs)
	}
	// The image's health check says healthy.
	if r := d.Exec(t, "/dinv", "-healthcheck"); r.ExitCode != 0 {
		t.Errorf("/dinv -healthcheck on a ready engine:\n%s", r)
	}
	// The image's own CLI talks to the engine inside.
	if out := d.Exec(t, "docker", "ps"); out.ExitCode != 0 || !strings.HasPrefix(out.Stdout, "CONTAINER ID") {
		t.Errorf("docker exec %s docker ps:\n%s", d.Name, out)
	}

	t.Run("a container runs inside and its network works", func(t *testing.T) {
		harness.Load(t, host, busybox)
		host.Run(t, "network", "create", "inner")
		// An inner web server and a client fetching from it by name on an
		// inner user-defined network: bridge, DNS and veth inside DinV.
		host.Run(t, "run", "-d", "--name", "web", "--network", "inner", busybox,
			"sh", "-c", "echo hello-from-inside >/www/index.html && exec httpd -f -p 80 -h /www")
		var got harness.Result
		for i := 0; i < 50; i++ {
			got = host.Try(t, "run", "--rm", "--network", "inner", busybox, "wget", "-qO-", "http://web/")
			if got.ExitCode == 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if strings.TrimSpace(got.Stdout) != "hello-from-inside" {
			t.Fatalf("fetch from the inner web server:\n%s", got)
		}
		// The default bridge too: a container gets an address and a route.
		out := host.Run(t, "run", "--rm", busybox, "sh", "-c", "ip -4 route show default && ip -4 addr show eth0")
		if !strings.Contains(out, "default via") || !strings.Contains(out, "inet ") {
			t.Errorf("inner container on the default bridge has no address or route:\n%s", out)
		}
	})
}

// Example 1: the user's own CA, server certificate and key, copied into the
// /certs volume before the first start; the client's certificate connects
// (the README's last line), one without a certificate does not, and the
// files are untouched, nothing added.
func testUserCerts(t *testing.T, image string, e readmeExample) {
	w := newReadmeWorld(t, image)
	ca := harness.NewCA(t, "user CA")
	server := ca.Issue(t, harness.LeafOptions{CommonName: "dinv", Server: true, Hosts: []string{"127.0.0.1", "localhost"}})
	client := ca.Issue(t, harness.LeafOptions{CommonName: "user", Client: true})
	brought := map[string][]byte{"ca.crt": ca.CertPEM, "docker.crt": server.CertPEM, "docker.key": server.KeyPEM}
	_, info := w.runAll(t, e, func(dir string) {
		harness.WriteFile(t, dir, "ca.crt", ca.CertPEM, 0o644)
		harness.WriteFile(t, dir, "server.crt", server.CertPEM, 0o644)
		harness.WriteFile(t, dir, "server.key", server.KeyPEM, 0o600)
		harness.WriteFile(t, dir, "client.crt", client.CertPEM, 0o644)
		harness.WriteFile(t, dir, "client.key", client.KeyPEM, 0o600)
	})
	if !strings.Contains(info, "Server Version:") {
		t.Errorf("docker info over TLS with the user's client certificate:\n%s", info)
	}
	// Without a client certificate: refused.
	port := w.port("2376")
	noCert := harness.HTTPClient(harness.ClientTLS(t, ca.CertPEM, nil, nil), 5*time.Second)
	if err := harness.Ping(context.Background(), noCert, "https://127.0.0.1:"+port+"/_ping"); err == nil {
		t.Error("a client without a certificate was served")
	}

	// The brought files are untouched and nothing was added (no CA key).
	after := t.TempDir()
	w.container().CopyFrom(t, "/certs/.", after)
	names := dirNames(t, after)
	if strings.Join(names, " ") != "ca.crt docker.crt docker.key" {
		t.Errorf("/certs holds %v, want exactly the three files brought", names)
	}
	for name, b := range brought {
		got, err := os.ReadFile(filepath.Join(after, name))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s changed (err %v)", name, err)
		}
	}
}

// Example 2: images loaded into a DinV host survive removing the container
// and running the README's line again on the same /var/lib/docker and
// /certs volumes; the client certificates of the first keep working with
// the second.
func testVolumes(t *testing.T, image string, e readmeExample) {
	if len(e.lines) != 1 {
		t.Fatalf("README %s: %d command lines, this test runs one docker run twice", e.name, len(e.lines))
	}
	w := newReadmeWorld(t, image)
	dir, _ := w.runAll(t, e, nil)
	first := w.container()
	addr := "127.0.0.1:" + w.port("2376")
	certs := first.ClientCerts(t)
	first.WaitReady(t, addr, harness.ClientTLSDir(t, certs))
	host := harness.Client{Host: "tcp://" + addr, Dir: certs, CertPath: "."}
	harness.Load(t, host, busybox)
	host.Run(t, "tag", busybox, "kept:v1")

	// "later: docker rm -f dinv, the same docker run"
	w.run(t, dir, "docker rm -f dinv", "")
	w.run(t, dir, e.lines[0], "")
	second := w.container()
	second.WaitReady(t, addr, harness.ClientTLSDir(t, certs))
	imgs := host.Run(t, "images", "--format", "{{.Repository}}:{{.Tag}}")
	if !strings.Contains(imgs, "kept:v1") || !strings.Contains(imgs, busybox+":latest") {
		t.Fatalf("images after a new container on the same volumes:\n%s", imgs)
	}
	if out := host.Run(t, "run", "--rm", "kept:v1", "echo", "still-here"); out != "still-here" {
		t.Errorf("run of the kept image printed %q", out)
	}
}

// Example 3: DEBUG=true shows every stage's debug lines and the engine's,
// in the output of the README's `docker logs -f` (stopped once the last
// stage is done).
func testDebug(t *testing.T, image string, e readmeExample) {
	if len(e.lines) != 1 || !strings.Contains(e.lines[0], "logs -f") {
		t.Fatalf("README %s: want one line ending in docker logs -f, have %q", e.name, e.lines)
	}
	w := newReadmeWorld(t, image)
	last := core.DefaultStages[len(core.DefaultStages)-1]
	logs := w.run(t, t.TempDir(), e.lines[0], "[DEBUG] dinv."+last+": done")
	for _, stage := range core.DefaultStages {
		if !strings.Contains(logs, "[DEBUG] dinv."+stage+":") {
			t.Errorf("no debug line of stage %s", stage)
		}
	}
	if !strings.Contains(logs, "level=debug") {
		t.Error("no debug line of the engine")
	}
}

// Example 4: on a user-defined network, connect through the container's
// address read from docker inspect with jq, from the host, and from a client
// container on that network running the image's own docker CLI: both
// `docker info` lines print the engine's version.
func testNetwork(t *testing.T, image string, e readmeExample) {
	w := newReadmeWorld(t, image)
	dir := t.TempDir()
	var infos []string
	for _, line := range e.lines {
		out := w.run(t, dir, line, "")
		if slices.Contains(strings.Fields(line), "info") {
			infos = append(infos, out)
		}
	}
	if len(infos) != 2 {
		t.Fatalf("README %s: %d docker info lines, want 2 (from the host, from a client container)", e.name, len(infos))
	}
	for i, info := range infos {
		if !strings.Contains(info, "Server Version:") {
			t.Errorf("docker info %d of the example:\n%s", i+1, info)
		}
	}
}

// Example 5: -tlsverify with nothing given: dinv makes the CA, server and
// client certificates; the user copies the client's out and connects (the
// README's last line); a client without a certificate is refused.
func testGeneratedCerts(t *testing.T, image string, e readmeExample) {
	w := newReadmeWorld(t, image)
	dir, info := w.runAll(t, e, nil)
	if !strings.Contains(info, "Server Version:") {
		t.Errorf("docker info over TLS:\n%s", info)
	}
	port := w.port("2376")
	noCert := harness.HTTPClient(harness.ClientTLS(t, harness.ReadFile(t, filepath.Join(dir, "ca.pem")), nil, nil), 5*time.Second)
	if err := harness.Ping(context.Background(), noCert, "https://127.0.0.1:"+port+"/_ping"); err == nil {
		t.Error("a client without a certificate was served")
	}
}

// Example 6, -insecure-registry: the README's line gives the engine the
// registry (docker info lists it); then a DinV host with the flag pushes to
// and pulls from a plain-HTTP registry on a user-defined network, and one
// without it is refused.
func testInsecureRegistry(t *testing.T, image string, e readmeExample) {
	w := newReadmeWorld(t, image)
	w.runAll(t, e, nil)
	if r := w.container().Exec(t, "docker", "info", "--format", "{{json .RegistryConfig.IndexConfigs}}"); r.ExitCode != 0 || !strings.Contains(r.Stdout, `"reg.example:5000"`) {
		t.Errorf("docker info of the README's host lists no insecure reg.example:5000:\n%s", r)
	}

	network := harness.Network(t, "reg")
	reg := harness.Name("registry")
	t.Cleanup(func() { harness.Client{}.Try(t, "rm", "-f", "-v", reg) })
	harness.Client{}.Run(t, "run", "-d", "--name", reg, "--network", network, "--network-alias", "reg.example", registry)
	regIP := harness.Client{}.Run(t, "inspect", "-f", fmt.Sprintf(`{{(index .NetworkSettings.Networks %q).IPAddress}}`, network), reg)
	hc := harness.HTTPClient(nil, 5*time.Second)
	for end := time.Now().Add(30 * time.Second); harness.Ping(context.Background(), hc, "http://"+regIP+":5000/v2/") != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the registry does not answer on %s:5000", regIP)
		}
	}

	d := harness.Start(t, harness.Options{Image: image, Run: []string{"--network", network},
		Args: []string{"-insecure-registry", "reg.example:5000"}})
	ip := d.IP(t, network)
	d.WaitReady(t, ip+":2375", nil)
	host := harness.Client{Host: "tcp://" + ip + ":2375"}
	harness.Load(t, host, busybox)
	ref := "reg.example:5000/e2e/busybox:" + tag(image)
	host.Run(t, "tag", busybox, ref)
	host.Run(t, "push", ref)
	host.Run(t, "rmi", ref)
	host.Run(t, "rmi", busybox)
	host.Run(t, "pull", ref)
	if out := host.Run(t, "run", "--rm", ref, "echo", "pulled-and-ran"); out != "pulled-and-ran" {
		t.Errorf("run of the pulled image printed %q", out)
	}

	t.Run("refused without the flag", func(t *testing.T) {
		plain := harness.Start(t, harness.Options{Image: image, Run: []string{"--network", network}})
		ip := plain.IP(t, network)
		plain.WaitReady(t, ip+":2375", nil)
		other := harness.Client{Host: "tcp://" + ip + ":2375"}
		harness.Load(t, other, busybox)
		other.Run(t, "tag", busybox, ref)
		r := other.Try(t, "push", ref)
		if r.ExitCode == 0 {
			t.Fatalf("push to a plain-HTTP registry without -insecure-registry succeeded:\n%s", r)
		}
		if !strings.Contains(r.Stderr+r.Stdout, "HTTP response to HTTPS client") {
			t.Errorf("push refused for another reason than plain HTTP:\n%s", r)
		}
	})
}

// waitLogs returns the container's log once it holds want (or after 10 s).
func waitLogs(t *testing.T, d *harness.DinV, want string) string {
	t.Helper()
	var logs string
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if logs = d.Logs(t); strings.Contains(logs, want) {
			break
		}
	}
	return logs
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}
