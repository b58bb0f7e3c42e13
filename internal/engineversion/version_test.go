package engineversion

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// fakeOutputs answers `<prog> --version` from a table and records the calls.
type fakeOutputs struct {
	out   map[string]string
	err   map[string]error
	calls []string
}

func (f *fakeOutputs) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	f.calls = append(f.calls, name+" "+strings.Join(args, " "))
	if _, ok := ctx.Deadline(); !ok {
		return nil, errors.New("no deadline on the context")
	}
	return []byte(f.out[name]), f.err[name]
}

func TestDetectVersion(t *testing.T) {
	notFound := errors.New(`exec: "dockerd": executable file not found in $PATH`)
	tests := []struct {
		name      string
		out       map[string]string
		err       map[string]error
		want      string
		wantErr   string
		wantCalls string
	}{
		{
			name:      "dockerd's answer is used, trimmed",
			out:       map[string]string{"dockerd": "Docker version 26.1.5+dfsg1, build 411e817\n", "docker": "Docker version 1.0.0"},
			want:      "Docker version 26.1.5+dfsg1, build 411e817",
			wantCalls: "dockerd --version",
		},
		{
			name:      "without dockerd the docker binary is asked",
			out:       map[string]string{"docker": "Docker version 1.12.6, build 78d1802\n"},
			err:       map[string]error{"dockerd": notFound},
			want:      "Docker version 1.12.6, build 78d1802",
			wantCalls: "dockerd --version,docker --version",
		},
		{
			name:      "a dockerd that prints nothing counts as missing",
			out:       map[string]string{"dockerd": "  \n", "docker": "Docker version 28.5.2, build ecc6942"},
			want:      "Docker version 28.5.2, build ecc6942",
			wantCalls: "dockerd --version,docker --version",
		},
		{
			name:      "neither binary: the error names both",
			err:       map[string]error{"dockerd": notFound, "docker": errors.New("exit status 1")},
			wantErr:   `dockerd --version: exec: "dockerd": executable file not found in $PATH; docker --version: exit status 1`,
			wantCalls: "dockerd --version,docker --version",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeOutputs{out: tt.out, err: tt.err}
			got, err := detectVersion(context.Background(), f.run)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if got != tt.want || gotErr != tt.wantErr {
				t.Errorf("detectVersion() = %q, %q; want %q, %q", got, gotErr, tt.want, tt.wantErr)
			}
			if calls := strings.Join(f.calls, ","); calls != tt.wantCalls {
				t.Errorf("calls = %q, want %q", calls, tt.wantCalls)
			}
		})
	}
}

func TestExecOutputEndsAHungProgramAndItsChildrenWithTheContext(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	script := filepath.Join(dir, "dockerd")
	// A wrapper whose child holds the output and outlives it.
	body := "#!/bin/sh\nsleep 30 &\necho $! >" + pidFile + "\nwait\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := execOutput(ctx, script, "--version")
	if took := time.Since(start); err == nil || took > 300*time.Millisecond+outputWait+time.Second {
		t.Errorf("execOutput returned %v after %s: want an error soon after the context ended", err, took)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(2 * time.Second); harness.Alive(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the program's child %d outlives it", pid)
		}
	}
}
