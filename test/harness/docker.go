package harness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// CommandTimeout bounds one docker CLI call made through a Client.
var CommandTimeout = 5 * time.Minute

// Client runs the real docker CLI against one engine. The zero value talks to
// the machine's engine (whatever DOCKER_HOST says, else the default socket).
type Client struct {
	// Host is DOCKER_HOST, e.g. tcp://127.0.0.1:12375; empty for the machine's engine.
	Host string
	// CertPath, when set, turns on DOCKER_TLS_VERIFY=1 with DOCKER_CERT_PATH
	// set to it (ca.pem, cert.pem, key.pem as the CLI expects).
	CertPath string
	// Dir is the working directory of the CLI; empty for the test's.
	Dir string
	// Env is appended to the environment.
	Env []string
}

// Result is what one CLI call printed and how it ended.
type Result struct {
	Args     []string
	Stdout   string
	Stderr   string
	ExitCode int
	Duration time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("docker %s: exit %d\nstdout:\n%s\nstderr:\n%s",
		strings.Join(r.Args, " "), r.ExitCode, r.Stdout, r.Stderr)
}

// environ is the CLI's environment for c.
func (c Client) environ() []string {
	env := os.Environ()
	clean := env[:0]
	for _, kv := range env {
		if c.Host != "" || c.CertPath != "" {
			if strings.HasPrefix(kv, "DOCKER_HOST=") || strings.HasPrefix(kv, "DOCKER_CONTEXT=") ||
				strings.HasPrefix(kv, "DOCKER_TLS_VERIFY=") || strings.HasPrefix(kv, "DOCKER_CERT_PATH=") {
				continue
			}
		}
		clean = append(clean, kv)
	}
	if c.Host != "" {
		clean = append(clean, "DOCKER_HOST="+c.Host)
	}
	if c.CertPath != "" {
		clean = append(clean, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH="+c.CertPath)
	}
	return append(clean, c.Env...)
}

// args are the arguments the CLI gets for args: on the machine's engine, the
// commands that make a container, a volume or a network get Labels.
func (c Client) args(args []string) []string {
	if c.Host != "" {
		return args
	}
	return labelled(args)
}

// Exec runs docker with args and stdin, returning what it printed. A non-zero
// exit is not an error (see Result.ExitCode); failing to run the CLI is. On
// the machine's engine, what it makes is labelled (see Labels).
func (c Client) Exec(ctx context.Context, stdin io.Reader, args ...string) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, CommandTimeout)
	defer cancel()
	args = c.args(args)
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = c.environ()
	cmd.Dir = c.Dir
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := Result{Args: args, Stdout: stdout.String(), Stderr: stderr.String(), Duration: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok && ctx.Err() == nil {
		r.ExitCode = ee.ExitCode()
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("docker %s: %w (stderr: %s)", strings.Join(args, " "), err, r.Stderr)
	}
	return r, nil
}

// Try runs docker with args and returns the result, failing the test only when
// the CLI could not run at all.
func (c Client) Try(t testing.TB, args ...string) Result {
	t.Helper()
	r, err := c.Exec(context.Background(), nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Run runs docker with args and returns its stdout with surrounding space
// trimmed, failing the test on a non-zero exit.
func (c Client) Run(t testing.TB, args ...string) string {
	t.Helper()
	r := c.Try(t, args...)
	if r.ExitCode != 0 {
		t.Fatal(r)
	}
	return strings.TrimSpace(r.Stdout)
}

// Pipe runs `docker from...` and `docker to...` with the first one's stdout
// as the second's stdin, as `docker save IMG | docker -H X load` does.
func Pipe(ctx context.Context, from Client, fromArgs []string, to Client, toArgs []string) error {
	ctx, cancel := context.WithTimeout(ctx, CommandTimeout)
	defer cancel()
	fromArgs, toArgs = from.args(fromArgs), to.args(toArgs)
	src := exec.CommandContext(ctx, "docker", fromArgs...)
	src.Env, src.Dir = from.environ(), from.Dir
	dst := exec.CommandContext(ctx, "docker", toArgs...)
	dst.Env, dst.Dir = to.environ(), to.Dir
	// An OS pipe: when the reader dies, the writer gets EPIPE instead of
	// blocking forever.
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	src.Stdout, dst.Stdin = w, r
	var srcErr, dstErr bytes.Buffer
	src.Stderr, dst.Stderr = &srcErr, &dstErr
	if err := dst.Start(); err != nil {
		r.Close()
		w.Close()
		return err
	}
	r.Close()
	errSrc := src.Run()
	w.Close()
	errDst := dst.Wait()
	if errSrc != nil {
		return fmt.Errorf("docker %s: %v: %s", strings.Join(fromArgs, " "), errSrc, srcErr.String())
	}
	if errDst != nil {
		return fmt.Errorf("docker %s: %v: %s", strings.Join(toArgs, " "), errDst, dstErr.String())
	}
	return nil
}

// Load copies image from the machine's engine into the engine behind to:
// `docker save image | docker load`.
func Load(t testing.TB, to Client, image string) {
	t.Helper()
	if err := Pipe(context.Background(), Client{}, []string{"save", image}, to, []string{"load", "-q"}); err != nil {
		t.Fatalf("load %s into %s: %v", image, to.Host, err)
	}
}
