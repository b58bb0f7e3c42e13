// Package engineversion finds the engine's version as its binary reports it:
// what dinv chooses the engine's profile by when neither -engine-version nor
// the image names it.
package engineversion

import (
	"context"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/errors"
)

// versionTimeout bounds one `--version` run: a hung binary must not hang dinv.
const versionTimeout = 10 * time.Second

// commandOutput runs a program and returns its standard output.
type commandOutput func(ctx context.Context, name string, args ...string) ([]byte, error)

// outputWait bounds how long execOutput waits for the program's output once
// the program is ended.
const outputWait = time.Second

// execOutput runs the program in a process group of its own and, when ctx
// ends (a stop signal, the timeout), kills the whole group: a wrapper script
// whose child holds the output would otherwise keep dinv waiting for as long
// as that child lives.
func execOutput(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = outputWait
	return cmd.Output()
}

// Detect returns what the engine binary says its version is
// ("Docker version 26.1.5+dfsg1, build a72d7cd"): `dockerd --version`, else
// `docker --version` (1.12 images, or a bare client). core.MatchProfile
// parses it.
func Detect(ctx context.Context) (string, error) {
	return detectVersion(ctx, execOutput)
}

func detectVersion(ctx context.Context, run commandOutput) (string, error) {
	var errs []string
	for _, prog := range []string{"dockerd", "docker"} {
		c, cancel := context.WithTimeout(ctx, versionTimeout)
		out, err := run(c, prog, "--version")
		cancel()
		v := strings.TrimSpace(string(out))
		if err == nil && v != "" {
			return v, nil
		}
		if err == nil {
			err = errors.New("printed nothing")
		}
		errs = append(errs, prog+" --version: "+err.Error())
	}
	return "", errors.New(strings.Join(errs, "; "))
}
