package harness

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Prefix starts the name of every container, volume and network the harness
// makes, so that a suite's leftovers are recognisable (and removable).
var Prefix = "dinv-e2e-"

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// Name returns a fresh name: Prefix, what (made safe for docker), a random suffix.
func Name(what string) string {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	what = strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(what), "-"), "-.")
	if len(what) > 40 {
		what = what[:40]
	}
	if what != "" {
		what += "-"
	}
	return Prefix + what + hex.EncodeToString(b)
}

// Volume creates a named volume and removes it when the test ends.
func Volume(t testing.TB, what string) string {
	t.Helper()
	name := Client{}.Run(t, "volume", "create", Name(what))
	t.Cleanup(func() { Client{}.Try(t, "volume", "rm", "-f", name) })
	return name
}

// Network creates a user-defined bridge network and removes it when the test ends.
func Network(t testing.TB, what string) string {
	t.Helper()
	name := Name(what)
	Client{}.Run(t, "network", "create", name)
	t.Cleanup(func() { Client{}.Try(t, "network", "rm", name) })
	return name
}

// SubnetNetwork creates a user-defined bridge network on a /24 of its own,
// so that containers on it can have fixed addresses (--ip) that outlive
// their removal: a swarm's managers must keep theirs. The subnet is chosen at
// random in 10.200.0.0-10.254.255.0 until the engine takes one that overlaps
// no other network. It returns the network's name and the subnet's first
// three numbers ("10.213.7."), and removes the network when the test ends.
func SubnetNetwork(t testing.TB, what string) (name, prefix string) {
	t.Helper()
	name = Name(what)
	var last Result
	for try := 0; try < 20; try++ {
		b := make([]byte, 2)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		prefix = fmt.Sprintf("10.%d.%d.", 200+int(b[0])%55, b[1])
		last = Client{}.Try(t, "network", "create", "--subnet", prefix+"0/24", name)
		if last.ExitCode == 0 {
			t.Cleanup(func() { Client{}.Try(t, "network", "rm", name) })
			return name, prefix
		}
		if !strings.Contains(last.Stderr, "overlap") {
			break
		}
	}
	t.Fatalf("no subnet for network %s:\n%s", name, last)
	return "", ""
}

// FreePort returns a TCP port that is free right now on every address,
// IPv4 and IPv6 (127.0.0.1 too): dinv binds its port on every address.
func FreePort(t testing.TB) int {
	t.Helper()
	for {
		l, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if claimPort(port) {
			return port
		}
	}
}

// handedOut are the ports FreePort gave in this process: tests that run in
// parallel never get the same one.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

func claimPort(port int) bool {
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.ports[port] {
		return false
	}
	handedOut.ports[port] = true
	return true
}

// Options describe one DinV container: docker run [Run...] IMAGE [Args...].
type Options struct {
	Image string   // the DinV image, e.g. dinv:26.1
	Name  string   // the container name; Name("dinv") when empty
	Run   []string // docker run options besides the name and privileges: -p, -v, -e, --network
	Args  []string // dinv's arguments, after the image
	// Create makes the container with `docker create` and leaves it stopped,
	// as the README's example 1 does before `docker cp`; Start starts it.
	Create bool
	// Unprivileged leaves out the probed privileges (for `docker run IMAGE -h`).
	Unprivileged bool
	// Privileges, when not nil, replace the probed privileges (LeastPrivilege,
	// Rootless, GVisor).
	Privileges []string
}

// DinV is one DinV container on the machine's engine.
type DinV struct {
	Name  string
	Image string
}

// Start runs a DinV container detached (or creates it, with o.Create) and
// removes it with its anonymous volumes when the test ends; when the test
// failed, the container's log is printed first.
func Start(t testing.TB, o Options) *DinV {
	t.Helper()
	if o.Name == "" {
		o.Name = Name("dinv")
	}
	args := []string{"run", "-d"}
	if o.Create {
		args = []string{"create"}
	}
	args = append(args, "--name", o.Name)
	if o.Privileges != nil {
		args = append(args, o.Privileges...)
	} else if !o.Unprivileged {
		p, err := Probe(o.Image)
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, p.Options...)
	}
	args = append(append(append(args, o.Run...), o.Image), o.Args...)
	d := &DinV{Name: o.Name, Image: o.Image}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log of %s (%s):\n%s", d.Name, d.Image, d.Logs(t))
		}
		Client{}.Try(t, "rm", "-f", "-v", d.Name)
	})
	Client{}.Run(t, args...)
	return d
}

// Start starts a created or stopped container.
func (d *DinV) Start(t testing.TB) {
	t.Helper()
	Client{}.Run(t, "start", d.Name)
}

// Remove removes the container now (its named volumes stay).
func (d *DinV) Remove(t testing.TB) {
	t.Helper()
	Client{}.Run(t, "rm", "-f", "-v", d.Name)
}

// Logs returns the container's stdout and stderr, interleaved as the engine
// stored them.
func (d *DinV) Logs(t testing.TB) string {
	t.Helper()
	r := Client{}.Try(t, "logs", d.Name)
	return r.Stdout + r.Stderr
}

// Inspect returns `docker inspect -f format` of the container.
func (d *DinV) Inspect(t testing.TB, format string) string {
	t.Helper()
	return Client{}.Run(t, "inspect", "-f", format, d.Name)
}

// IP returns the container's address on network.
func (d *DinV) IP(t testing.TB, network string) string {
	t.Helper()
	return d.Inspect(t, fmt.Sprintf(`{{(index .NetworkSettings.Networks %q).IPAddress}}`, network))
}

// HostPort returns the 127.0.0.1 address that the container's port (e.g.
// "2375") is published on.
func (d *DinV) HostPort(t testing.TB, port string) string {
	t.Helper()
	out := Client{}.Run(t, "port", d.Name, port+"/tcp")
	for _, line := range strings.Split(out, "\n") {
		_, p, err := net.SplitHostPort(strings.TrimSpace(line))
		if err == nil && !strings.Contains(line, "[") {
			return net.JoinHostPort("127.0.0.1", p)
		}
	}
	t.Fatalf("%s: port %s is not published: %q", d.Name, port, out)
	return ""
}

// CopyTo copies src on the host to dst in the container (`docker cp`).
func (d *DinV) CopyTo(t testing.TB, src, dst string) {
	t.Helper()
	Client{}.Run(t, "cp", src, d.Name+":"+dst)
}

// CopyFrom copies src in the container to dst on the host (`docker cp`).
func (d *DinV) CopyFrom(t testing.TB, src, dst string) {
	t.Helper()
	Client{}.Run(t, "cp", d.Name+":"+src, dst)
}

// ClientCerts waits until dinv has written the client's files into /certs
// (ca.crt, docker-client.crt, docker-client.key), copies them into a new
// directory named as the docker CLI expects in DOCKER_CERT_PATH (ca.pem,
// cert.pem, key.pem) and returns it. It fails the test when the container
// stops first or ReadyTimeout passes.
func (d *DinV) ClientCerts(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	deadline := time.Now().Add(ReadyTimeout)
	for !d.TryClientCerts(t, dir) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no client certificates in /certs after %s", d.Name, ReadyTimeout)
		}
		if s := d.Inspect(t, "{{.State.Status}}"); s != "running" {
			t.Fatalf("%s stopped (%s) before writing the client certificates", d.Name, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return dir
}

// clientCertFiles maps the client's files in /certs to the names the docker
// CLI reads from DOCKER_CERT_PATH.
var clientCertFiles = [][2]string{{"ca.crt", "ca.pem"}, {"docker-client.crt", "cert.pem"}, {"docker-client.key", "key.pem"}}

// TryClientCerts is one attempt of ClientCerts into dir: false when one of
// the files is not there (yet).
func (d *DinV) TryClientCerts(t testing.TB, dir string) bool {
	t.Helper()
	for _, f := range clientCertFiles {
		if (Client{}).Try(t, "cp", d.Name+":/certs/"+f[0], filepath.Join(dir, f[1])).ExitCode != 0 {
			return false
		}
	}
	return true
}

// Exec runs a command in the container (`docker exec`).
func (d *DinV) Exec(t testing.TB, cmd ...string) Result {
	t.Helper()
	return Client{}.Try(t, append([]string{"exec", d.Name}, cmd...)...)
}

// StartedAt is the container's .State.StartedAt.
func (d *DinV) StartedAt(t testing.TB) time.Time {
	t.Helper()
	s := d.Inspect(t, "{{.State.StartedAt}}")
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s: started at %q: %v", d.Name, s, err)
	}
	return at
}

// ReadyTimeout bounds WaitReady.
var ReadyTimeout = 90 * time.Second

// WaitReady polls GET /_ping on addr (host:port; with tlsConfig, over TLS)
// every few milliseconds until the engine answers OK, and returns the time from
// the container's start to that answer. It fails the test, with the
// container's log, when the container stops or ReadyTimeout passes.
func (d *DinV) WaitReady(t testing.TB, addr string, tlsConfig *tls.Config) time.Duration {
	t.Helper()
	at, err := d.waitReady(context.Background(), addr, tlsConfig)
	if err != nil {
		t.Fatalf("%s (%s) not ready on %s: %v (its log follows the test's end)", d.Name, d.Image, addr, err)
	}
	return at.Sub(d.StartedAt(t))
}

// HTTPClient is an HTTP client without keep-alives that gives up after
// timeout; with tlsConfig it speaks TLS with that configuration.
func HTTPClient(tlsConfig *tls.Config, timeout time.Duration) *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: tlsConfig}, Timeout: timeout}
}

// Get is one GET of url with hc: the status code and the body's first 4 KiB,
// or the error that stopped it.
func Get(ctx context.Context, hc *http.Client, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b), nil
}

// Ping is one GET of url (an engine's /_ping) with hc: nil when it answers 200 OK.
func Ping(ctx context.Context, hc *http.Client, url string) error {
	code, _, err := Get(ctx, hc, url)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", url, code, http.StatusText(code))
	}
	return nil
}

func (d *DinV) waitReady(ctx context.Context, addr string, tlsConfig *tls.Config) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	url := "http://" + addr + "/_ping"
	if tlsConfig != nil {
		url = "https://" + addr + "/_ping"
	}
	hc := HTTPClient(tlsConfig, time.Second)
	var last error
	checked := time.Now()
	for {
		if last = Ping(ctx, hc, url); last == nil {
			return time.Now(), nil
		}
		if time.Since(checked) > 250*time.Millisecond {
			checked = time.Now()
			r, err := Client{}.Exec(ctx, nil, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", d.Name)
			if err == nil && r.ExitCode == 0 && !strings.HasPrefix(r.Stdout, "running") {
				return time.Time{}, fmt.Errorf("the container stopped (%s)", strings.TrimSpace(r.Stdout))
			}
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%v; last: %v", ctx.Err(), last)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
