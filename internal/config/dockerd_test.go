package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dinv/dinv/core"
)

func TestParseEngineArgsReadsEveryFormDockerdTakes(t *testing.T) {
	type flag struct{ name, value string }
	for _, tc := range []struct {
		name string
		args []string
		want []flag
	}{
		{"--name=value", []string{"--mtu=1400"}, []flag{{"mtu", "1400"}}},
		{"--name value", []string{"--registry-mirror", "http://m"}, []flag{{"registry-mirror", "http://m"}}},
		{"a value-taking flag takes the next word even when it starts with a dash", []string{"--log-level", "-x"}, []flag{{"log-level", "-x"}}},
		{"a boolean alone is true and takes no word", []string{"--debug", "--live-restore"}, []flag{{"debug", "true"}, {"live-restore", "true"}}},
		{"a boolean =false", []string{"--iptables=false"}, []flag{{"iptables", "false"}}},
		{"-X value", []string{"-H", "unix:///x.sock"}, []flag{{"host", "unix:///x.sock"}}},
		{"-Xvalue", []string{"-Htcp://0.0.0.0:2375"}, []flag{{"host", "tcp://0.0.0.0:2375"}}},
		{"-X=value", []string{"-s=vfs"}, []flag{{"storage-driver", "vfs"}}},
		{"short flags run together, the last taking the next word", []string{"-DH", "tcp://x:1"}, []flag{{"debug", "true"}, {"host", "tcp://x:1"}}},
		{"short flags run together, the last taking the rest of the word", []string{"-DHunix:///y"}, []flag{{"debug", "true"}, {"host", "unix:///y"}}},
		{"a short boolean =false", []string{"-D=false"}, []flag{{"debug", "false"}}},
		{"-g is --graph, the data root of older engines", []string{"-g", "/d"}, []flag{{"graph", "/d"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEngineArgs(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			var flags []flag
			for _, f := range got {
				flags = append(flags, flag{f.Name, f.Value})
			}
			if !reflect.DeepEqual(flags, tc.want) {
				t.Errorf("ParseEngineArgs(%q) = %v, want %v", tc.args, flags, tc.want)
			}
		})
	}
}

func TestParseEngineArgsRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a word that is not a flag", []string{"--debug", "sh"}, `engine argument "sh": not a flag`},
		{"a flag that needs a value at the end", []string{"--data-root"}, "engine argument --data-root needs a value"},
		{"a short flag that needs a value at the end", []string{"-DH"}, "engine argument -DH: -H needs a value"},
		{"an unknown short flag", []string{"-Dq"}, "engine argument -Dq: unknown flag -q"},
		{"a bare --", []string{"--"}, `engine argument "--": not a flag`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseEngineArgs(tc.args)
			if err == nil || !core.IsUsage(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want a usage error with %q", err, tc.want)
			}
		})
	}
}

func TestParseHostCompletesAddressesAsDockerdDoes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		tls  bool
		want string
	}{
		{"unix:///run/d.sock", false, "unix:///run/d.sock"},
		{"unix://", false, "unix:///var/run/docker.sock"},
		{"tcp://0.0.0.0:2375", false, "tcp://0.0.0.0:2375"},
		{"tcp://0.0.0.0", false, "tcp://0.0.0.0:2375"},
		{"tcp://:2380", false, "tcp://localhost:2380"},
		{"tcp://", false, "tcp://localhost:2375"},
		{"0.0.0.0:2376", false, "tcp://0.0.0.0:2376"},
		{"tcp://[::]:2376", false, "tcp://[::]:2376"},
		{"", false, "unix:///var/run/docker.sock"},
		{"", true, "tcp://localhost:2376"},
		{"fd://", false, "fd://"},
	} {
		l, err := ParseHost(tc.in, tc.tls)
		if err != nil || l.URL() != tc.want {
			t.Errorf("ParseHost(%q, %v) = %q, %v; want %q", tc.in, tc.tls, l.URL(), err, tc.want)
		}
	}
	for _, bad := range []string{"udp://x:1", "tcp://x:port", "unix://tcp://x", "tcp://x:70000"} {
		if _, err := ParseHost(bad, false); err == nil {
			t.Errorf("ParseHost(%q) accepted", bad)
		}
	}
}

func TestReadInputRefusesWhatIsNotARegularFileWithoutOpeningIt(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "daemon.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := readInput(context.Background(), fifo)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !core.IsUsage(err) || !strings.Contains(err.Error(), "is not a regular file (a FIFO)") {
			t.Errorf("error %v, want a usage error naming the FIFO", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reading a FIFO blocked")
	}
	if _, err := readInput(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("a directory: %v", err)
	}
	if data, err := readInput(context.Background(), filepath.Join(dir, "none.json")); data != nil || err != nil {
		t.Errorf("a missing file: %q, %v; want nothing", data, err)
	}
	real := filepath.Join(dir, "real.json")
	if err := os.WriteFile(real, []byte(`{"debug": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.json") // a Kubernetes ConfigMap's files are links
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if data, err := readInput(context.Background(), link); err != nil || string(data) != `{"debug": true}` {
		t.Errorf("through a link: %q, %v", data, err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, maxInput+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readInput(context.Background(), big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a file over the limit: %v", err)
	}
}

func TestReadInputEndsWithItsContext(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	defer close(release)
	stuck := func(string, int64) ([]byte, error) { <-release; return nil, nil } // a read that hangs (NFS, FUSE)
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("stop signal")
	go func() { time.Sleep(50 * time.Millisecond); cancel(stop) }()
	done := make(chan error, 1)
	go func() {
		_, err := readWith(ctx, p, stuck)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, stop) {
			t.Errorf("error %v, want the stop signal", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a stop did not end a hanging read")
	}
}
