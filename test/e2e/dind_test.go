//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// DinV as a drop-in for docker:dind, on every image, with
// the project's own images only (no registry).
func TestDindDropIn(t *testing.T) {
	requireTestImages(t)
	for _, image := range dinvImages(t) {
		t.Run(image, func(t *testing.T) {
			t.Parallel() // two images at a time (go test -parallel)
			start := time.Now()
			t.Cleanup(func() { t.Logf("%s: docker:dind drop-in tests took %.1f s", image, time.Since(start).Seconds()) })
			version := engineVersion(t, image)
			t.Run("CI job over mutual TLS, DOCKER_TLS_CERTDIR=/certs", func(t *testing.T) { testCIJob(t, image, version, true) })
			t.Run("CI job over plain TCP, DOCKER_TLS_CERTDIR empty", func(t *testing.T) { testCIJob(t, image, version, false) })
			t.Run("a certificate directory docker:dind made with openssl is reused", func(t *testing.T) { testDindMadeCerts(t, image) })
			t.Run("a certificate directory a user made with openssl, without the CA key, is used as it is", func(t *testing.T) { testUserMadeDindCerts(t, image) })
			t.Run("three GitLab-shaped jobs in a row on one kept client volume", func(t *testing.T) { testKeptClientVolume(t, image) })
			t.Run("client files of another CA beside the CA are issued anew", func(t *testing.T) { testClientOfAnotherCA(t, image) })
			t.Run("trailing dockerd flags reach the engine once", func(t *testing.T) { testTrailingFlags(t, image) })
			t.Run("dinv sh runs the command instead of the engine", func(t *testing.T) { testCommand(t, image) })
			t.Run("dinv dockerd --debug runs the engine with exactly its arguments", func(t *testing.T) { testDockerdCommand(t, image) })
		})
	}
}

// noPlugins names the images whose base packages neither the compose v2
// plugin nor buildx, with the reason (the README's table says the same).
var noPlugins = map[string]string{
	"20.10": "dinv:20.10 is built on Debian bookworm, which packages neither the compose v2 plugin nor buildx (its docker-compose is the old 1.29 program)",
}

// GitLab's documented variables for a docker:dind service, unchanged.
var (
	gitlabTLS   = []string{"DOCKER_HOST=tcp://docker:2376", "DOCKER_TLS_CERTDIR=/certs", "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=/certs/client"}
	gitlabPlain = []string{"DOCKER_HOST=tcp://docker:2375", "DOCKER_TLS_CERTDIR="}
)

// The job's project: a multi-stage Dockerfile whose first stage uses a
// BuildKit cache mount (ROUND changes the RUN step, so that the second build
// runs it again on the same cache), and a compose file whose client fetches
// from its web server by service name. Both use the busybox test image the
// job loads into the DinV host first: no registry.
const (
	jobDockerfile = `FROM ` + busybox + ` AS build
ARG ROUND=1
RUN --mount=type=cache,target=/cache echo "round $ROUND" >>/cache/rounds && cp /cache/rounds /rounds && echo built-with-a-cache-mount >/artifact
FROM ` + busybox + `
COPY --from=build /artifact /rounds /
CMD ["cat", "/artifact", "/rounds"]
`
	jobCompose = `services:
  web:
    image: ` + busybox + `
    stop_signal: SIGKILL # httpd as PID 1 ignores SIGTERM: no 10 s wait when the client is done
    command: ["sh", "-c", "mkdir -p /www && echo hello-from-web >/www/index.html && exec httpd -f -p 8080 -h /www"]
  client:
    image: ` + busybox + `
    depends_on: [web]
    command: ["sh", "-c", "for i in $$(seq 100); do wget -qO- http://web:8080/ && exit 0; usleep 100000; done; exit 1"]
`
	// waitReady is how the job waits for its service: polling docker
	// info, with a deadline, never a fixed sleep.
	waitReady = `start=$(date +%s%N); deadline=$(( $(date +%s) + 90 )); polls=0
until docker info >/dev/null 2>&1; do
	polls=$((polls + 1)); touch /tmp/polled
	if [ "$(date +%s)" -ge "$deadline" ]; then echo "the service is not ready after 90 s"; docker info; exit 1; fi
	sleep 0.2
done
echo "ready after $polls failed polls, $(( ($(date +%s%N) - start) / 1000000 )) ms"
`
)

// ciJob is a CI job's container: the DinV image as the docker CLI, on the
// job's network, with the project at /builds/project and, from the DinV
// service, only the client-certificate volume at /certs/client.
type ciJob struct{ name string }

func startCIJob(t *testing.T, image, network, clientVol, project string, env []string) *ciJob {
	t.Helper()
	j := &ciJob{name: harness.Name("job")}
	args := []string{"run", "-d", "--name", j.name, "--network", network,
		"-v", clientVol + ":/certs/client", "-v", project + ":/builds/project", "-w", "/builds/project"}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	args = append(args, "--entrypoint", "sleep", image, "infinity")
	t.Cleanup(func() { harness.Client{}.Try(t, "rm", "-f", "-v", j.name) })
	harness.Client{}.Run(t, args...)
	return j
}

// sh runs a script in the job (sh -e), as a CI job's script line.
func (j *ciJob) sh(t *testing.T, script string) harness.Result {
	t.Helper()
	return harness.Client{}.Try(t, "exec", j.name, "sh", "-ec", script)
}

// must runs a script in the job and fails the test unless it exits 0.
func (j *ciJob) must(t *testing.T, script string) string {
	t.Helper()
	r := j.sh(t, script)
	if r.ExitCode != 0 {
		t.Fatalf("job script failed:\n%s\n%s", script, r)
	}
	return r.Stdout
}

// A CI job's shape, as GitLab runs one with a docker:dind service: a
// user-defined network, DinV with the alias docker, the client-certificate
// volume shared with the job, the job waiting by polling, then docker info,
// a BuildKit build and docker compose up.
func testCIJob(t *testing.T, image, version string, withTLS bool) {
	network := harness.Network(t, "ci")
	clientVol := harness.Volume(t, "certs-client")
	certDir, env, port := "/certs", gitlabTLS, "2376"
	if !withTLS {
		certDir, env, port = "", gitlabPlain, "2375"
	}
	project := t.TempDir()
	harness.WriteFile(t, project, "Dockerfile", []byte(jobDockerfile), 0o644)
	harness.WriteFile(t, project, "compose.yaml", []byte(jobCompose), 0o644)
	harness.Client{}.Run(t, "save", "-o", filepath.Join(project, "busybox.tar"), busybox)

	d := harness.Start(t, harness.Options{Image: image, Create: true, Run: []string{"--network", network, "--network-alias", "docker",
		"-e", "DOCKER_TLS_CERTDIR=" + certDir, "-v", clientVol + ":/certs/client"}})
	// The job waits for its service before the service has even started:
	// the name docker does not resolve yet, then the engine does not
	// answer, then it does.
	job := startCIJob(t, image, network, clientVol, project, env)
	waited := make(chan harness.Result, 1)
	go func() {
		r, err := harness.Client{}.Exec(context.Background(), nil, "exec", job.name, "sh", "-ec", waitReady)
		if err != nil {
			r.ExitCode, r.Stderr = -1, err.Error()
		}
		waited <- r
	}()
	// The service starts once the job has failed to reach it: the loop is
	// what makes the job wait.
	for end := time.Now().Add(30 * time.Second); job.sh(t, "test -e /tmp/polled").ExitCode != 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the job never polled its service")
		}
	}
	d.Start(t)
	r := <-waited
	if r.ExitCode != 0 {
		t.Fatalf("the job's wait for its service:\n%s", r)
	}
	after := ""
	if f := strings.Fields(readyLine(t, d)); len(f) > 0 {
		for _, kv := range f {
			if v, ok := strings.CutPrefix(kv, "after="); ok {
				after = v
			}
		}
	}
	t.Logf("%s: job: %s; dinv's ready line: after=%s", image, strings.TrimSpace(r.Stdout), after)
	var polls, ms int
	if _, err := fmt.Sscanf(r.Stdout, "ready after %d failed polls, %d ms", &polls, &ms); err != nil || polls < 1 {
		t.Errorf("the job's wait printed %q: want a ready line after at least one failed poll (%v)", r.Stdout, err)
	}

	t.Run("docker info", func(t *testing.T) {
		info := job.must(t, "docker info --format '{{.ServerVersion}} {{.Driver}}'")
		if f := strings.Fields(info); len(f) != 2 || !strings.HasPrefix(f[0], version) || f[1] != overlayDriver(version) {
			t.Errorf("docker info in the job: %q, want engine %s on %s", strings.TrimSpace(info), version, overlayDriver(version))
		}
		// The engine listens where the job's variables say, and only there.
		cmdline := engineCmdline(t, d)
		wantHost := "--host=tcp://0.0.0.0:" + port
		if withTLS && !hasArg(cmdline, "--tlsverify") || !withTLS && !hasArg(cmdline, "--tls=false") {
			t.Errorf("engine command line %q: want --tlsverify with TLS, --tls=false without", cmdline)
		}
		if !hasArg(cmdline, wantHost) && !hasArg(cmdline, "--host=fd://") {
			t.Errorf("engine command line %q: want %s (or the socket dinv bound for it)", cmdline, wantHost)
		}
	})

	if withTLS {
		t.Run("the job's /certs/client holds exactly ca.pem, cert.pem, key.pem and no other key", func(t *testing.T) {
			if got := strings.Fields(job.must(t, "ls -A /certs; ls -A /certs/client")); strings.Join(got, " ") != "client ca.pem cert.pem key.pem" {
				t.Errorf("the job sees /certs and /certs/client holding %q, want only client/ with ca.pem cert.pem key.pem", got)
			}
			shared := t.TempDir()
			harness.Client{}.Run(t, "cp", job.name+":/certs/client/.", shared)
			all := t.TempDir()
			d.CopyFrom(t, "/certs/.", all)
			checkClientBundle(t, shared, all)
		})
		t.Run("the ready line names the client files and -client-bundle writes them", func(t *testing.T) {
			testClientBundle(t, d)
		})
	} else {
		t.Run("nothing is written for clients", func(t *testing.T) {
			if got := strings.TrimSpace(job.must(t, "ls -A /certs/client")); got != "" {
				t.Errorf("/certs/client holds %q without TLS", got)
			}
		})
	}

	job.must(t, "docker load -i busybox.tar")
	t.Run("a BuildKit build, multi-stage with a cache mount", func(t *testing.T) {
		build := "docker buildx build"
		if why, ok := noPlugins[tag(image)]; ok {
			if r := job.sh(t, "docker buildx version"); r.ExitCode == 0 {
				t.Fatalf("%s has buildx after all: update noPlugins and the README\n%s", image, r)
			}
			// The 20.10 CLI still carries a BuildKit client of its own.
			t.Logf("no buildx (%s): the build runs with DOCKER_BUILDKIT=1 docker build", why)
			build = "DOCKER_BUILDKIT=1 docker build"
		}
		job.must(t, build+" --progress=plain --build-arg ROUND=1 -t ci-built:1 . 2>&1")
		job.must(t, build+" --progress=plain --build-arg ROUND=2 -t ci-built:2 . 2>&1")
		got := job.must(t, "docker run --rm ci-built:2")
		// The second build ran its RUN step again on the same cache: both
		// rounds are in it.
		if want := "built-with-a-cache-mount\nround 1\nround 2\n"; got != want {
			t.Errorf("the built image printed %q, want %q (the cache mount kept round 1)", got, want)
		}
	})
	t.Run("docker compose up of two services talking by service name", func(t *testing.T) {
		if why, ok := noPlugins[tag(image)]; ok {
			if r := job.sh(t, "docker compose version"); r.ExitCode == 0 {
				t.Fatalf("%s has compose after all: update noPlugins and the README\n%s", image, r)
			}
			t.Skip("does not apply: " + why)
		}
		out := job.must(t, "docker compose -p ci up --abort-on-container-exit --exit-code-from client 2>&1")
		if !strings.Contains(out, "hello-from-web") {
			t.Errorf("the client did not print what the web service served:\n%s", out)
		}
		job.must(t, "docker compose -p ci down 2>&1")
	})
}

// engineCmdline is the running engine's command line, read from /proc in
// the container, one argument a line.
func engineCmdline(t *testing.T, d *harness.DinV) []string {
	t.Helper()
	r := d.Exec(t, "sh", "-c", `tr '\0' '\n' </proc/$(cat /var/run/docker.pid)/cmdline`)
	if r.ExitCode != 0 {
		t.Fatalf("the engine's command line: %v", r)
	}
	return strings.Split(strings.TrimSpace(r.Stdout), "\n")
}

func hasArg(args []string, a string) bool { return countArgs(args, a) > 0 }

// countArgs counts the arguments equal to a, or, for a prefix ending in
// "=", starting with it.
func countArgs(args []string, a string) int {
	n := 0
	for _, x := range args {
		if x == a || strings.HasSuffix(a, "=") && strings.HasPrefix(x, a) {
			n++
		}
	}
	return n
}

// checkClientBundle checks the client directory a job is given against the
// host's whole certificate directory: ca.pem is the CA certificate and
// nothing else, cert.pem a client certificate of that CA, key.pem its key
// and neither the CA's nor the server's.
func checkClientBundle(t *testing.T, shared, all string) {
	t.Helper()
	names := dirNames(t, shared)
	if strings.Join(names, " ") != "ca.pem cert.pem key.pem" {
		t.Fatalf("the shared client directory holds %v", names)
	}
	read := func(dir, name string) []byte { return harness.ReadFile(t, filepath.Join(dir, name)) }
	blocks := func(b []byte) (types []string) {
		for {
			var p *pem.Block
			p, b = pem.Decode(b)
			if p == nil {
				return types
			}
			types = append(types, p.Type)
		}
	}
	for name, want := range map[string]string{"ca.pem": "CERTIFICATE", "cert.pem": "CERTIFICATE"} {
		if got := blocks(read(shared, name)); len(got) != 1 || got[0] != want {
			t.Errorf("%s holds %v, want one %s", name, got, want)
		}
	}
	if got := blocks(read(shared, "key.pem")); len(got) != 1 || !strings.HasSuffix(got[0], "PRIVATE KEY") {
		t.Errorf("key.pem holds %v, want one private key", got)
	}
	if !bytes.Equal(read(shared, "ca.pem"), read(all, "ca/cert.pem")) {
		t.Error("ca.pem is not the CA certificate ca/cert.pem")
	}
	for _, other := range []string{"ca/key.pem", "server/key.pem"} {
		if bytes.Equal(read(shared, "key.pem"), read(all, other)) {
			t.Errorf("the job is given %s", other)
		}
	}
	pair, err := tls.X509KeyPair(read(shared, "cert.pem"), read(shared, "key.pem"))
	if err != nil {
		t.Fatalf("cert.pem and key.pem: %v", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(read(shared, "ca.pem"))
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("cert.pem is no client certificate of ca.pem: %v", err)
	}
}

// The ready line says which client files to copy, and they exist; `docker
// exec C /dinv -client-bundle | tar -x -C DIR` writes ca.pem, cert.pem and
// key.pem and prints the environment that uses them, which connects.
func testClientBundle(t *testing.T, d *harness.DinV) {
	logs := waitLogs(t, d, "engine ready")
	var line string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "engine ready") {
			line = l
		}
	}
	if !strings.Contains(line, "/certs/client") {
		t.Errorf("the ready line does not name /certs/client:\n%s", line)
	}
	if strings.Contains(line, "docker-client") {
		t.Errorf("the ready line names the flat layout's files:\n%s", line)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("docker", "exec", d.Name, "/dinv", "-client-bundle")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("docker exec %s /dinv -client-bundle: %v\n%s", d.Name, err, stderr.String())
	}
	dir := t.TempDir()
	var names []string
	tr := tar.NewReader(&stdout)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the bundle is not a tar: %v", err)
		}
		names = append(names, fmt.Sprintf("%s %o", h.Name, h.Mode&0o777))
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		harness.WriteFile(t, dir, filepath.Base(h.Name), b, os.FileMode(h.Mode&0o777))
	}
	sort.Strings(names)
	if got := strings.Join(names, ", "); got != "ca.pem 644, cert.pem 644, key.pem 600" {
		t.Errorf("the bundle holds %s, want ca.pem, cert.pem and key.pem (0600)", got)
	}
	var host string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if v, ok := strings.CutPrefix(l, "export DOCKER_HOST="); ok {
			host = v
		}
	}
	for _, want := range []string{"export DOCKER_TLS_VERIFY=1", "export DOCKER_CERT_PATH="} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the bundle's environment lacks %q:\n%s", want, stderr.String())
		}
	}
	if host == "" {
		t.Fatalf("no export DOCKER_HOST= line:\n%s", stderr.String())
	}
	if v := (harness.Client{Host: host, CertPath: dir}).Run(t, "version", "--format", "{{.Server.Version}}"); v == "" {
		t.Error("no server version with the bundle's files")
	}
}

// The commands docker:dind's entrypoint runs for DOCKER_TLS_CERTDIR (its
// _tls_generate_certs), for a service that was called docker: RSA keys (2048
// bits here, 4096 there: the same files, faster), the CA in ca/, the server's
// pair and a copy of the CA in server/, the client's in client/ with its key
// readable by any client; the requests and openssl.cnf files stay, as
// docker:dind leaves them. With keepCAKey false, ca/key.pem is removed
// afterwards: a user who manages the CA elsewhere.
const dindOpenSSL = `set -eu
dir=$1
mkdir -p "$dir/ca" "$dir/server" "$dir/client"
openssl genrsa -out "$dir/ca/key.pem" 2048 2>/dev/null
openssl req -new -key "$dir/ca/key.pem" -out "$dir/ca/cert.pem" -subj '/CN=docker:dind CA' -x509 -days 825
openssl genrsa -out "$dir/server/key.pem" 2048 2>/dev/null
openssl req -new -key "$dir/server/key.pem" -out "$dir/server/csr.pem" -subj '/CN=docker:dind server'
printf '[ x509_exts ]\nsubjectAltName = DNS:docker,DNS:localhost,IP:127.0.0.1\n' >"$dir/server/openssl.cnf"
openssl x509 -req -in "$dir/server/csr.pem" -CA "$dir/ca/cert.pem" -CAkey "$dir/ca/key.pem" -CAcreateserial \
	-out "$dir/server/cert.pem" -days 825 -extfile "$dir/server/openssl.cnf" -extensions x509_exts 2>/dev/null
cp "$dir/ca/cert.pem" "$dir/server/ca.pem"
openssl verify -CAfile "$dir/server/ca.pem" "$dir/server/cert.pem" >/dev/null
openssl genrsa -out "$dir/client/key.pem" 2048 2>/dev/null
chmod 0644 "$dir/client/key.pem"
openssl req -new -key "$dir/client/key.pem" -out "$dir/client/csr.pem" -subj '/CN=docker:dind client'
printf '[ x509_exts ]\nextendedKeyUsage = clientAuth\n' >"$dir/client/openssl.cnf"
openssl x509 -req -in "$dir/client/csr.pem" -CA "$dir/ca/cert.pem" -CAkey "$dir/ca/key.pem" -CAcreateserial \
	-out "$dir/client/cert.pem" -days 825 -extfile "$dir/client/openssl.cnf" -extensions x509_exts 2>/dev/null
cp "$dir/ca/cert.pem" "$dir/client/ca.pem"
openssl verify -CAfile "$dir/client/ca.pem" "$dir/client/cert.pem" >/dev/null
`

// makeDindCerts runs dindOpenSSL into a new directory and returns it.
func makeDindCerts(t *testing.T, keepCAKey bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "certs")
	if out, err := exec.Command("bash", "-c", dindOpenSSL, "openssl-like-dind", dir).CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	if !keepCAKey {
		if err := os.Remove(filepath.Join(dir, "ca", "key.pem")); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// readTree is every regular file under dir by its relative path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[rel], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// startOnCerts copies dir into the /certs volume of a new DinV container
// with DOCKER_TLS_CERTDIR=/certs and the alias docker on network, starts it
// and waits until it serves the client of dir (the openssl-made client
// certificate), verifying the server as clients of the alias docker do.
func startOnCerts(t *testing.T, image, network, dir string) (*harness.DinV, string) {
	t.Helper()
	vol := harness.Volume(t, "dind-certs")
	d := harness.Start(t, harness.Options{Image: image, Create: true,
		Run: []string{"--network", network, "--network-alias", "docker", "-e", "DOCKER_TLS_CERTDIR=/certs", "-v", vol + ":/certs"}})
	d.CopyTo(t, dir+"/.", "/certs")
	d.Start(t)
	cfg := harness.ClientTLSDir(t, filepath.Join(dir, "client"))
	cfg.ServerName = "docker"
	d.WaitReady(t, d.IP(t, network)+":2376", cfg)
	return d, vol
}

// connectAsJob runs the docker CLI in a container on network with the
// client files of dir (the test's own, made with openssl) and GitLab's
// variables.
func connectAsJob(t *testing.T, image, network, clientDir string) {
	t.Helper()
	r := harness.Client{}.Try(t, append([]string{"run", "--rm", "--network", network, "-v", clientDir + ":/certs/client:ro"},
		append(envArgs(gitlabTLS), "--entrypoint", "docker", image, "version", "--format", "{{.Server.Version}}")...)...)
	if r.ExitCode != 0 || strings.TrimSpace(r.Stdout) == "" {
		t.Errorf("the docker CLI with the openssl-made client certificate, DOCKER_HOST=tcp://docker:2376:\n%s", r)
	}
}

func envArgs(env []string) []string {
	var out []string
	for _, e := range env {
		out = append(out, "-e", e)
	}
	return out
}

// A directory that docker:dind made (its CA key included) is reused: the
// same CA, no second one; the test's own client certificate connects. The
// server certificate covers docker but not the new container's address and
// name: DinV re-issues the server pair from the same CA (docker:dind itself
// re-issues its certificates at every start; DinV replaces the RSA key with
// one of its -key-type), adds its .dinv.lock, and every other file keeps its
// bytes; a restart on the same address then changes nothing at all.
func testDindMadeCerts(t *testing.T, image string) {
	network := harness.Network(t, "dind-certs")
	dir := makeDindCerts(t, true)
	before := readTree(t, dir)
	d, _ := startOnCerts(t, image, network, dir)
	connectAsJob(t, image, network, filepath.Join(dir, "client"))

	after := t.TempDir()
	d.CopyFrom(t, "/certs/.", after)
	got := readTree(t, after)
	var changed, added []string
	for name, b := range before {
		if !bytes.Equal(got[name], b) {
			changed = append(changed, name)
		}
	}
	for name := range got {
		if _, ok := before[name]; !ok {
			added = append(added, name)
		}
	}
	sort.Strings(changed)
	sort.Strings(added)
	// .dinv.lock is DinV's lock, taken to write in the directory.
	if len(added) > 1 || len(added) == 1 && added[0] != ".dinv.lock" {
		t.Errorf("files added to a complete docker:dind directory: %v", added)
	}
	// The server pair only, re-issued: docker:dind's RSA key is not of the
	// kind DinV generates (-key-type), so it is replaced with the certificate.
	for _, c := range changed {
		if c != "server/cert.pem" && c != "server/key.pem" {
			t.Errorf("%s changed: only the server pair may be re-issued (all changed: %v)", c, changed)
		}
	}
	srv := parsePEMCert(t, got["server/cert.pem"])
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(before["ca/cert.pem"])
	if _, err := srv.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("server/cert.pem does not chain to the openssl CA: %v", err)
	}
	if _, err := tls.X509KeyPair(got["server/cert.pem"], got["server/key.pem"]); err != nil {
		t.Errorf("server/cert.pem and server/key.pem do not match: %v", err)
	}
	if err := srv.VerifyHostname("docker"); err != nil {
		t.Errorf("server/cert.pem does not cover docker: %v", err)
	}
	ip := d.IP(t, network)
	if err := srv.VerifyHostname(ip); err != nil {
		t.Errorf("server/cert.pem does not cover the container's address %s: %v", ip, err)
	}
	t.Logf("%s: changed by the first start: %v (the server certificate covers %v %v)", image, changed, srv.DNSNames, srv.IPAddresses)

	// A restart on the same address: nothing changes.
	harness.Client{}.Run(t, "restart", "-t", "10", d.Name)
	cfg := harness.ClientTLSDir(t, filepath.Join(dir, "client"))
	cfg.ServerName = "docker"
	d.WaitReady(t, d.IP(t, network)+":2376", cfg)
	again := t.TempDir()
	d.CopyFrom(t, "/certs/.", again)
	if diff := diffTrees(got, readTree(t, again)); len(diff) > 0 {
		t.Errorf("a restart changed the certificate directory: %v", diff)
	}
}

// A directory in docker:dind's layout that a user made with openssl, the CA
// key kept elsewhere: every file is used as it is (bytes unchanged, nothing
// added) and the user's client certificate connects.
func testUserMadeDindCerts(t *testing.T, image string) {
	network := harness.Network(t, "user-certs")
	dir := makeDindCerts(t, false)
	before := readTree(t, dir)
	d, _ := startOnCerts(t, image, network, dir)
	connectAsJob(t, image, network, filepath.Join(dir, "client"))
	after := t.TempDir()
	d.CopyFrom(t, "/certs/.", after)
	if diff := diffTrees(before, readTree(t, after)); len(diff) > 0 {
		t.Errorf("the user's certificate directory changed: %v", diff)
	}
	// The ready line names no client file: the user has their own.
	if line := readyLine(t, d); strings.Contains(line, "cert.pem") || strings.Contains(line, "docker-client") {
		t.Errorf("the ready line names client files the user holds already:\n%s", line)
	}
}

// startService starts a job's docker:dind service as GitLab's runner does:
// a new container (its /certs a new anonymous volume, the image's), on the
// job's network with the alias docker, GitLab's DOCKER_TLS_CERTDIR, and the
// runner's kept volumes mounted (volume:path); it returns once the engine
// is ready, as the runner's wait for the service's port.
func startService(t *testing.T, image, network string, volumes ...string) *harness.DinV {
	t.Helper()
	run := []string{"--network", network, "--network-alias", "docker", "-e", "DOCKER_TLS_CERTDIR=/certs"}
	for _, v := range volumes {
		run = append(run, "-v", v)
	}
	d := harness.Start(t, harness.Options{Image: image, Run: run})
	for end := time.Now().Add(90 * time.Second); !strings.Contains(d.Logs(t), "engine ready"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(end) || strings.TrimSpace(d.Inspect(t, "{{.State.Running}}")) != "true" {
			t.Fatalf("the service %s is not ready (running: %s)", d.Name, d.Inspect(t, "{{.State.Running}}"))
		}
	}
	return d
}

// jobDockerInfo is a job's first command, docker info over mutual TLS with
// GitLab's variables and the client files of clientVol, run once: the
// engine's version, or the failure.
func jobDockerInfo(t *testing.T, image, network, clientVol string) harness.Result {
	t.Helper()
	return harness.Client{}.Try(t, append([]string{"run", "--rm", "--network", network, "-v", clientVol + ":/certs/client:ro"},
		append(envArgs(gitlabTLS), "--entrypoint", "docker", image, "info", "--format", "{{.ServerVersion}}")...)...)
}

// replacedLine is the service's log line saying which certificate files it
// replaced and why, "" when it replaced none.
func replacedLine(t *testing.T, d *harness.DinV) string {
	t.Helper()
	for _, l := range strings.Split(d.Logs(t), "\n") {
		if strings.Contains(l, "certificate files replaced") {
			return l
		}
	}
	return ""
}

// GitLab's runner with volumes = ["/certs/client", "/cache"] keeps
// /certs/client between jobs: each job's service is a new container whose
// /certs holds only the previous job's client/. Three jobs in a row on one
// such volume: each service makes a new CA and issues every file, the
// client files replaced (one log line from the second job on, naming them
// and why), and each job's first docker info over mutual TLS answers.
func testKeptClientVolume(t *testing.T, image string) {
	network := harness.Network(t, "gitlab")
	kept := harness.Volume(t, "kept-client") // the runner's /certs/client
	var previous string
	for job := 1; job <= 3; job++ {
		d := startService(t, image, network, kept+":/certs/client")
		if r := jobDockerInfo(t, image, network, kept); r.ExitCode != 0 || strings.TrimSpace(r.Stdout) == "" {
			t.Fatalf("job %d: its first docker info over mutual TLS:\n%s", job, r)
		}
		line := replacedLine(t, d)
		switch {
		case job == 1 && line != "":
			t.Errorf("job 1 (an empty volume) replaced files: %s", line)
		case job > 1 && (!strings.Contains(line, `files=["client/ca.pem", "client/cert.pem", "client/key.pem"]`) ||
			!strings.Contains(line, "ca/ is absent: client/ is left from another CA")):
			t.Errorf("job %d: the service's log line on the replaced client files: %q", job, line)
		}
		cert := d.Exec(t, "cat", "/certs/client/cert.pem").Stdout
		if cert == previous {
			t.Errorf("job %d: client/cert.pem is the previous job's", job)
		}
		previous = cert
		t.Logf("%s: job %d: %s", image, job, line)
		d.Remove(t) // the job is done: the runner removes its service
	}
}

// A directory whose ca/ (with its key) and client/ come from two CAs (two
// kept volumes of two services): the service issues client/ anew from its
// CA, says so in one line, and the job holding that client/ connects.
func testClientOfAnotherCA(t *testing.T, image string) {
	network := harness.Network(t, "another-ca")
	ca, client, other := harness.Volume(t, "kept-ca"), harness.Volume(t, "kept-client"), harness.Volume(t, "other-client")
	// Two services: one fills ca/ and client/, the other another client/.
	startService(t, image, network, ca+":/certs/ca", client+":/certs/client").Remove(t)
	startService(t, image, network, other+":/certs/client").Remove(t)
	d := startService(t, image, network, ca+":/certs/ca", other+":/certs/client")
	if r := jobDockerInfo(t, image, network, other); r.ExitCode != 0 || strings.TrimSpace(r.Stdout) == "" {
		t.Fatalf("the job's docker info over mutual TLS:\n%s", r)
	}
	line := replacedLine(t, d)
	if !strings.Contains(line, `files=["client/ca.pem", "client/cert.pem", "client/key.pem"]`) || !strings.Contains(line, "another CA") {
		t.Errorf("the service's log line on the replaced client files: %q", line)
	}
	t.Logf("%s: %s", image, line)
}

func readyLine(t *testing.T, d *harness.DinV) string {
	t.Helper()
	for _, l := range strings.Split(waitLogs(t, d, "engine ready"), "\n") {
		if strings.Contains(l, "engine ready") {
			return l
		}
	}
	t.Fatalf("%s logged no ready line", d.Name)
	return ""
}

func diffTrees(a, b map[string][]byte) []string {
	var out []string
	for name, x := range a {
		if y, ok := b[name]; !ok {
			out = append(out, name+" removed")
		} else if !bytes.Equal(x, y) {
			out = append(out, name+" changed")
		}
	}
	for name := range b {
		if _, ok := a[name]; !ok {
			out = append(out, name+" added")
		}
	}
	sort.Strings(out)
	return out
}

func parsePEMCert(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	p, _ := pem.Decode(b)
	if p == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(p.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// docker run IMAGE --registry-mirror=URL --mtu=1400 --data-root=/x: each
// reaches the engine's real command line once, and the engine acts on it.
func testTrailingFlags(t *testing.T, image string) {
	network := harness.Network(t, "flags")
	mirror := "http://mirror.invalid:5000"
	// /x on a volume of its own, as /var/lib/docker is: overlay (overlay2, or
	// Docker 29's overlayfs snapshotter) then works there.
	d := harness.Start(t, harness.Options{Image: image, Run: []string{"--network", network, "-v", "/x"},
		Args: []string{"--registry-mirror=" + mirror, "--mtu=1400", "--data-root=/x"}})
	a := d.IP(t, network) + ":2375"
	d.WaitReady(t, a, nil)
	cmdline := engineCmdline(t, d)
	for arg, want := range map[string]string{"--registry-mirror=": "--registry-mirror=" + mirror, "--mtu=": "--mtu=1400", "--data-root=": "--data-root=/x"} {
		if n := countArgs(cmdline, arg); n != 1 || !hasArg(cmdline, want) {
			t.Errorf("the engine's command line has %d %s... arguments, want exactly %s:\n%q", n, arg, want, cmdline)
		}
	}
	host := harness.Client{Host: "tcp://" + a}
	info := host.Run(t, "info", "--format", "{{json .RegistryConfig.Mirrors}} {{.DockerRootDir}} {{.Driver}}")
	if want := `["` + mirror + `/"] /x ` + overlayDriver(engineVersion(t, image)); info != want {
		t.Errorf("docker info: %s, want %s", info, want)
	}
	if mtu := host.Run(t, "network", "inspect", "bridge", "-f", `{{index .Options "com.docker.network.driver.mtu"}}`); mtu != "1400" {
		t.Errorf("the engine's default bridge has MTU %q, want 1400", mtu)
	}
}

// docker run IMAGE sh -c 'echo ok': the command runs instead of the engine,
// as the container's process, with nothing prepared (no privileges needed)
// and its exit status passed on.
func testCommand(t *testing.T, image string) {
	r := harness.Client{}.Try(t, "run", "--rm", image, "sh", "-c", "echo ok")
	if r.ExitCode != 0 || r.Stdout != "ok\n" || r.Stderr != "" {
		t.Errorf("dinv sh -c 'echo ok':\n%s", r)
	}
	r = harness.Client{}.Try(t, "run", "--rm", image, "sh", "-c", "echo pid $$; exit 7")
	if r.ExitCode != 7 || r.Stdout != "pid 1\n" {
		t.Errorf("dinv sh -c 'echo pid $$; exit 7': want pid 1 and exit 7:\n%s", r)
	}
}

// docker run IMAGE dockerd --debug: as with docker:dind, the engine gets
// exactly those arguments (no listener of dinv's: it serves its default
// socket), prepared and supervised by dinv, and is in debug mode.
func testDockerdCommand(t *testing.T, image string) {
	network := harness.Network(t, "dockerd")
	d := harness.Start(t, harness.Options{Image: image, Run: []string{"--network", network}, Args: []string{"dockerd", "--debug"}})
	waitHealthy(t, d)
	cmdline := engineCmdline(t, d)
	if filepath.Base(cmdline[0]) != "dockerd" || len(cmdline) != 2 || cmdline[1] != "--debug" {
		t.Errorf("the engine's command line: %q, want exactly dockerd --debug", cmdline)
	}
	if r := d.Exec(t, "docker", "info", "--format", "{{.Debug}}"); r.ExitCode != 0 || strings.TrimSpace(r.Stdout) != "true" {
		t.Errorf("docker info in the container: debug mode %v, want true", r)
	}
	if logs := d.Logs(t); !strings.Contains(logs, "level=debug") {
		t.Errorf("no debug line from the engine:\n%s", logs)
	}
	if ports := d.Exec(t, "sh", "-c", "cat /proc/net/tcp /proc/net/tcp6 | awk '$4 == \"0A\"' | grep -ci ':0947 '"); strings.TrimSpace(ports.Stdout) != "0" {
		t.Errorf("something listens on 2375 without the arguments naming it: %v", ports)
	}
}

// waitHealthy waits until `dinv -healthcheck` in d succeeds.
func waitHealthy(t *testing.T, d *harness.DinV) {
	t.Helper()
	deadline := time.Now().Add(harness.ReadyTimeout)
	for d.Exec(t, "/dinv", "-healthcheck").ExitCode != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s: dinv -healthcheck never passed:\n%s", d.Name, d.Logs(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
