package args

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/config"
	"github.com/dinv/dinv/internal/config/configtest"
)

// build resolves a configuration as internal/config does for a /dinv with
// the flags set changes (the engine binding its own port, unless set turns
// socket activation on), env and the engine arguments args, and fills what
// state leaves zero with what the stages fill by default: overlay2, the pki
// stage's files in /certs, an MTU of 1500.
func build(t testing.TB, set func(*config.Flags), env map[string]string, args []string, s core.State) (core.Config, core.State) {
	t.Helper()
	cfg := configtest.Resolve(t, func(f *config.Flags) {
		f.SocketActivation = false
		if set != nil {
			set(f)
		}
	}, env, args...)
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&s.StorageDriver, "overlay2")
	if cfg.Certs != core.TLSOff {
		def(&s.TLSFiles.ServerCert, "/certs/docker.crt")
		def(&s.TLSFiles.ServerKey, "/certs/docker.key")
		if cfg.Certs == core.TLSVerify {
			def(&s.TLSFiles.CACert, "/certs/ca.crt")
		}
	}
	if s.MTU == 0 {
		s.MTU = 1500
	}
	return cfg, s
}

func profile(t testing.TB, v string) *core.Profile {
	t.Helper()
	return configtest.Profile(t, v)
}

func lines(cmds []core.Command) []string {
	out := make([]string, len(cmds))
	for i, c := range cmds {
		out[i] = strings.Join(c.Args, " ")
	}
	return out
}

// TestBuildCommands is every profile with every flag combination, each
// expected command line written out in full (arguments joined by spaces).
func TestBuildCommands(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		flags   func(*config.Flags)
		env     map[string]string
		args    []string
		state   core.State
		want    []string
	}{
		{
			name:    "1.12: plain serves unix and tcp 2375",
			profile: "1.12",
			want: []string{
				"docker-containerd --listen unix:///run/containerd.sock --runtime docker-runc --shim docker-containerd-shim",
				"docker daemon --containerd=/run/containerd.sock --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --graph=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "1.12: -tls serves TLS on 2376 without verifying clients",
			profile: "1.12",
			flags:   func(f *config.Flags) { f.TLS = true },
			want: []string{
				"docker-containerd --listen unix:///run/containerd.sock --runtime docker-runc --shim docker-containerd-shim",
				"docker daemon --containerd=/run/containerd.sock --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tls --tlsverify=false --tlscert=/certs/docker.crt --tlskey=/certs/docker.key --graph=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "1.12: -tlsverify verifies clients against the CA on 2376",
			profile: "1.12",
			flags:   func(f *config.Flags) { f.TLSVerify = true },
			want: []string{
				"docker-containerd --listen unix:///run/containerd.sock --runtime docker-runc --shim docker-containerd-shim",
				"docker daemon --containerd=/run/containerd.sock --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tlsverify --tlscacert=/certs/ca.crt --tlscert=/certs/docker.crt --tlskey=/certs/docker.key --graph=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "1.12: -local serves the unix socket only",
			profile: "1.12",
			flags:   func(f *config.Flags) { f.Local = true },
			want: []string{
				"docker-containerd --listen unix:///run/containerd.sock --runtime docker-runc --shim docker-containerd-shim",
				"docker daemon --containerd=/run/containerd.sock --host=unix:///var/run/docker.sock --graph=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "1.12: -local -tls serves the unix socket only, without TLS flags",
			profile: "1.12",
			flags:   func(f *config.Flags) { f.Local, f.TLS = true, true },
			want: []string{
				"docker-containerd --listen unix:///run/containerd.sock --runtime docker-runc --shim docker-containerd-shim",
				"docker daemon --containerd=/run/containerd.sock --host=unix:///var/run/docker.sock --graph=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "1.12: each insecure registry is its own flag",
			profile: "1.12",
			flags:   func(f *config.Flags) { f.InsecureRegistries = []string{"registry:5000", "10.0.0.0/8"} },
			want: []string{
				"docker-containerd --listen unix:///run/containerd.sock --runtime docker-runc --shim docker-containerd-shim",
				"docker daemon --containerd=/run/containerd.sock --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --graph=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2 --insecure-registry=registry:5000 --insecure-registry=10.0.0.0/8",
			},
		},
		{
			name:    "1.12: the storage stage's fallback driver is used",
			profile: "1.12",
			state:   core.State{StorageDriver: "vfs"},
			want: []string{
				"docker-containerd --listen unix:///run/containerd.sock --runtime docker-runc --shim docker-containerd-shim",
				"docker daemon --containerd=/run/containerd.sock --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --graph=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=vfs",
			},
		},
		{
			name:    "1.12: debug runs the engine in debug mode",
			profile: "1.12",
			env:     map[string]string{"DEBUG": "true"},
			want: []string{
				"docker-containerd --listen unix:///run/containerd.sock --runtime docker-runc --shim docker-containerd-shim",
				"docker daemon --containerd=/run/containerd.sock --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --graph=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2 --debug",
			},
		},
		{
			name:    "1.12: an MTU below 1500 is passed on",
			profile: "1.12",
			state:   core.State{MTU: 1450},
			want: []string{
				"docker-containerd --listen unix:///run/containerd.sock --runtime docker-runc --shim docker-containerd-shim",
				"docker daemon --containerd=/run/containerd.sock --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --graph=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2 --mtu=1450",
			},
		},
		{
			name:    "1.12: extra arguments come last, verbatim",
			profile: "1.12",
			args:    []string{"--registry-mirror=http://mirror:5000", "--log-level", "warn"},
			want: []string{
				"docker-containerd --listen unix:///run/containerd.sock --runtime docker-runc --shim docker-containerd-shim",
				"docker daemon --containerd=/run/containerd.sock --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --graph=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2 --registry-mirror=http://mirror:5000 --log-level warn",
			},
		},
		{
			name:    "1.13: plain serves unix and tcp 2375",
			profile: "1.13",
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --graph=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "1.13: -tls serves TLS on 2376 without verifying clients",
			profile: "1.13",
			flags:   func(f *config.Flags) { f.TLS = true },
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tls --tlsverify=false --tlscert=/certs/docker.crt --tlskey=/certs/docker.key --graph=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "1.13: -tlsverify verifies clients against the CA on 2376",
			profile: "1.13",
			flags:   func(f *config.Flags) { f.TLSVerify = true },
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tlsverify --tlscacert=/certs/ca.crt --tlscert=/certs/docker.crt --tlskey=/certs/docker.key --graph=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "1.13: -local serves the unix socket only",
			profile: "1.13",
			flags:   func(f *config.Flags) { f.Local = true },
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --graph=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "1.13: -local -tls serves the unix socket only, without TLS flags",
			profile: "1.13",
			flags:   func(f *config.Flags) { f.Local, f.TLS = true, true },
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --graph=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "1.13: each insecure registry is its own flag",
			profile: "1.13",
			flags:   func(f *config.Flags) { f.InsecureRegistries = []string{"registry:5000", "10.0.0.0/8"} },
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --graph=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2 --insecure-registry=registry:5000 --insecure-registry=10.0.0.0/8",
			},
		},
		{
			name:    "1.13: the storage stage's fallback driver is used",
			profile: "1.13",
			state:   core.State{StorageDriver: "vfs"},
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --graph=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=vfs",
			},
		},
		{
			name:    "1.13: debug runs the engine in debug mode",
			profile: "1.13",
			env:     map[string]string{"DEBUG": "true"},
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --graph=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2 --debug",
			},
		},
		{
			name:    "1.13: an MTU below 1500 is passed on",
			profile: "1.13",
			state:   core.State{MTU: 1450},
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --graph=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2 --mtu=1450",
			},
		},
		{
			name:    "1.13: extra arguments come last, verbatim",
			profile: "1.13",
			args:    []string{"--registry-mirror=http://mirror:5000", "--log-level", "warn"},
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --graph=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2 --registry-mirror=http://mirror:5000 --log-level warn",
			},
		},
		{
			name:    "20.10: plain serves unix and tcp 2375",
			profile: "20.10",
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "20.10: -tls serves TLS on 2376 without verifying clients",
			profile: "20.10",
			flags:   func(f *config.Flags) { f.TLS = true },
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tls --tlsverify=false --tlscert=/certs/docker.crt --tlskey=/certs/docker.key --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "20.10: -tlsverify verifies clients against the CA on 2376",
			profile: "20.10",
			flags:   func(f *config.Flags) { f.TLSVerify = true },
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tlsverify --tlscacert=/certs/ca.crt --tlscert=/certs/docker.crt --tlskey=/certs/docker.key --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "20.10: -local serves the unix socket only",
			profile: "20.10",
			flags:   func(f *config.Flags) { f.Local = true },
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "20.10: -local -tls serves the unix socket only, without TLS flags",
			profile: "20.10",
			flags:   func(f *config.Flags) { f.Local, f.TLS = true, true },
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "20.10: each insecure registry is its own flag",
			profile: "20.10",
			flags:   func(f *config.Flags) { f.InsecureRegistries = []string{"registry:5000", "10.0.0.0/8"} },
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2 --insecure-registry=registry:5000 --insecure-registry=10.0.0.0/8",
			},
		},
		{
			name:    "20.10: the storage stage's fallback driver is used",
			profile: "20.10",
			state:   core.State{StorageDriver: "vfs"},
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=vfs",
			},
		},
		{
			name:    "20.10: debug runs the engine in debug mode",
			profile: "20.10",
			env:     map[string]string{"DEBUG": "true"},
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2 --debug",
			},
		},
		{
			name:    "20.10: an MTU below 1500 is passed on",
			profile: "20.10",
			state:   core.State{MTU: 1450},
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2 --mtu=1450",
			},
		},
		{
			name:    "20.10: extra arguments come last, verbatim",
			profile: "20.10",
			args:    []string{"--registry-mirror=http://mirror:5000", "--log-level", "warn"},
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2 --registry-mirror=http://mirror:5000 --log-level warn",
			},
		},
		{
			name:    "26.1: plain serves unix and tcp 2375",
			profile: "26.1",
			want: []string{
				"containerd --config=/var/run/docker/containerd/containerd.toml --log-level=info",
				"dockerd --containerd=/var/run/docker/containerd/containerd.sock --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "26.1: -tls serves TLS on 2376 without verifying clients",
			profile: "26.1",
			flags:   func(f *config.Flags) { f.TLS = true },
			want: []string{
				"containerd --config=/var/run/docker/containerd/containerd.toml --log-level=info",
				"dockerd --containerd=/var/run/docker/containerd/containerd.sock --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tls --tlsverify=false --tlscert=/certs/docker.crt --tlskey=/certs/docker.key --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "26.1: -tlsverify verifies clients against the CA on 2376",
			profile: "26.1",
			flags:   func(f *config.Flags) { f.TLSVerify = true },
			want: []string{
				"containerd --config=/var/run/docker/containerd/containerd.toml --log-level=info",
				"dockerd --containerd=/var/run/docker/containerd/containerd.sock --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tlsverify --tlscacert=/certs/ca.crt --tlscert=/certs/docker.crt --tlskey=/certs/docker.key --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "26.1: -local serves the unix socket only",
			profile: "26.1",
			flags:   func(f *config.Flags) { f.Local = true },
			want: []string{
				"containerd --config=/var/run/docker/containerd/containerd.toml --log-level=info",
				"dockerd --containerd=/var/run/docker/containerd/containerd.sock --host=unix:///var/run/docker.sock --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "26.1: -local -tls serves the unix socket only, without TLS flags",
			profile: "26.1",
			flags:   func(f *config.Flags) { f.Local, f.TLS = true, true },
			want: []string{
				"containerd --config=/var/run/docker/containerd/containerd.toml --log-level=info",
				"dockerd --containerd=/var/run/docker/containerd/containerd.sock --host=unix:///var/run/docker.sock --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "26.1: each insecure registry is its own flag",
			profile: "26.1",
			flags:   func(f *config.Flags) { f.InsecureRegistries = []string{"registry:5000", "10.0.0.0/8"} },
			want: []string{
				"containerd --config=/var/run/docker/containerd/containerd.toml --log-level=info",
				"dockerd --containerd=/var/run/docker/containerd/containerd.sock --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2 --insecure-registry=registry:5000 --insecure-registry=10.0.0.0/8",
			},
		},
		{
			name:    "26.1: the storage stage's fallback driver is used",
			profile: "26.1",
			state:   core.State{StorageDriver: "vfs"},
			want: []string{
				"containerd --config=/var/run/docker/containerd/containerd.toml --log-level=info",
				"dockerd --containerd=/var/run/docker/containerd/containerd.sock --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=vfs",
			},
		},
		{
			name:    "26.1: debug runs the engine in debug mode",
			profile: "26.1",
			env:     map[string]string{"DEBUG": "true"},
			want: []string{
				"containerd --config=/var/run/docker/containerd/containerd.toml --log-level=debug",
				"dockerd --containerd=/var/run/docker/containerd/containerd.sock --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2 --debug",
			},
		},
		{
			name:    "26.1: an MTU below 1500 is passed on",
			profile: "26.1",
			state:   core.State{MTU: 1450},
			want: []string{
				"containerd --config=/var/run/docker/containerd/containerd.toml --log-level=info",
				"dockerd --containerd=/var/run/docker/containerd/containerd.sock --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2 --mtu=1450",
			},
		},
		{
			name:    "26.1: extra arguments come last, verbatim (--log-level keeps the engine's own containerd)",
			profile: "26.1",
			args:    []string{"--registry-mirror=http://mirror:5000", "--log-level", "warn"},
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2 --registry-mirror=http://mirror:5000 --log-level warn",
			},
		},
		{
			name:    "28.5: plain serves unix and tcp 2375",
			profile: "28.5",
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "28.5: -tls serves TLS on 2376 without verifying clients",
			profile: "28.5",
			flags:   func(f *config.Flags) { f.TLS = true },
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tls --tlsverify=false --tlscert=/certs/docker.crt --tlskey=/certs/docker.key --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "28.5: -tlsverify verifies clients against the CA on 2376",
			profile: "28.5",
			flags:   func(f *config.Flags) { f.TLSVerify = true },
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tlsverify --tlscacert=/certs/ca.crt --tlscert=/certs/docker.crt --tlskey=/certs/docker.key --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "28.5: -local serves the unix socket only",
			profile: "28.5",
			flags:   func(f *config.Flags) { f.Local = true },
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "28.5: -local -tls serves the unix socket only, without TLS flags",
			profile: "28.5",
			flags:   func(f *config.Flags) { f.Local, f.TLS = true, true },
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "28.5: each insecure registry is its own flag",
			profile: "28.5",
			flags:   func(f *config.Flags) { f.InsecureRegistries = []string{"registry:5000", "10.0.0.0/8"} },
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2 --insecure-registry=registry:5000 --insecure-registry=10.0.0.0/8",
			},
		},
		{
			name:    "28.5: the storage stage's fallback driver is used",
			profile: "28.5",
			state:   core.State{StorageDriver: "vfs"},
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=vfs",
			},
		},
		{
			name:    "28.5: debug runs the engine in debug mode",
			profile: "28.5",
			env:     map[string]string{"DEBUG": "true"},
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2 --debug",
			},
		},
		{
			name:    "28.5: an MTU below 1500 is passed on",
			profile: "28.5",
			state:   core.State{MTU: 1450},
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2 --mtu=1450",
			},
		},
		{
			name:    "28.5: extra arguments come last, verbatim",
			profile: "28.5",
			args:    []string{"--registry-mirror=http://mirror:5000", "--log-level", "warn"},
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2 --registry-mirror=http://mirror:5000 --log-level warn",
			},
		},
		// Docker 29 (dinv:29): the command line of 28.5; the storage stage
		// chooses a snapshotter of containerd's image store (overlayfs, or
		// native where overlay cannot mount), or a graph driver.
		{
			name:    "29: plain serves unix and tcp 2375, images in containerd's overlayfs snapshotter",
			profile: "29",
			state:   core.State{StorageDriver: "overlayfs"},
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlayfs",
			},
		},
		{
			name:    "29: -tls serves TLS on 2376 without verifying clients",
			profile: "29",
			flags:   func(f *config.Flags) { f.TLS = true },
			state:   core.State{StorageDriver: "overlayfs"},
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tls --tlsverify=false --tlscert=/certs/docker.crt --tlskey=/certs/docker.key --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlayfs",
			},
		},
		{
			name:    "29: -tlsverify verifies clients against the CA on 2376",
			profile: "29",
			flags:   func(f *config.Flags) { f.TLSVerify = true },
			state:   core.State{StorageDriver: "overlayfs"},
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tlsverify --tlscacert=/certs/ca.crt --tlscert=/certs/docker.crt --tlskey=/certs/docker.key --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlayfs",
			},
		},
		{
			name:    "29: -local serves the unix socket only",
			profile: "29",
			flags:   func(f *config.Flags) { f.Local = true },
			state:   core.State{StorageDriver: "overlayfs"},
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlayfs",
			},
		},
		{
			name:    "29: where overlay cannot mount the storage stage's native snapshotter is used",
			profile: "29",
			state:   core.State{StorageDriver: "native"},
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=native",
			},
		},
		{
			name:    "29: a graph driver the storage stage keeps is passed as on 28.5",
			profile: "29",
			state:   core.State{StorageDriver: "overlay2"},
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "29: insecure registries, debug and an MTU below 1500, extra arguments last",
			profile: "29",
			flags:   func(f *config.Flags) { f.InsecureRegistries = []string{"registry:5000"} },
			env:     map[string]string{"DEBUG": "true"},
			args:    []string{"--firewall-backend=iptables", "--min-api-version", "1.24"},
			state:   core.State{StorageDriver: "overlayfs", MTU: 1450},
			want: []string{
				"dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlayfs --mtu=1450 --debug --insecure-registry=registry:5000 --firewall-backend=iptables --min-api-version 1.24",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, s := build(t, tt.flags, tt.env, tt.args, tt.state)
			got := lines(buildCommands(&cfg, profile(t, tt.profile), &s))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("buildCommands()\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestBuildCommandsEdges covers what the defaults above hide: the placement
// flags, the port, a dropped storage stage, the pki stage's own paths, MTUs
// that need no flag, and everything at once.
func TestBuildCommandsEdges(t *testing.T) {
	placed := func(g func(f *config.Flags)) func(f *config.Flags) {
		return func(f *config.Flags) {
			f.Socket, f.DataRoot, f.ExecRoot = "/tmp/t/docker.sock", "/tmp/t/data", "/tmp/t/exec"
			f.Pidfile, f.CertDir, f.SocketActivation = "/tmp/t/docker.pid", "/tmp/t/certs", false
			if g != nil {
				g(f)
			}
		}
	}
	tests := []struct {
		name    string
		profile string
		flags   func(*config.Flags)
		env     map[string]string
		args    []string
		exact   []string // dinv dockerd ARGS instead of flags and args
		state   core.State
		want    []string
	}{
		{
			name:    "the placement flags and -port are used as given",
			profile: "26.1",
			flags:   placed(func(f *config.Flags) { f.Port = 12375 }),
			state:   core.State{StorageDriver: "overlay2"},
			want: []string{
				"containerd --config=/tmp/t/exec/containerd/containerd.toml --log-level=info",
				"dockerd --containerd=/tmp/t/exec/containerd/containerd.sock --host=unix:///tmp/t/docker.sock --host=tcp://0.0.0.0:12375 --tls=false --data-root=/tmp/t/data --exec-root=/tmp/t/exec --pidfile=/tmp/t/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "without the storage stage -storage is passed as asked",
			profile: "28.5",
			flags:   placed(func(f *config.Flags) { f.Storage = "btrfs" }),
			want: []string{
				"dockerd --host=unix:///tmp/t/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/tmp/t/data --exec-root=/tmp/t/exec --pidfile=/tmp/t/docker.pid --storage-driver=btrfs",
			},
		},
		{
			name:    "the pki stage's files are used as it names them",
			profile: "20.10",
			flags:   placed(func(f *config.Flags) { f.TLSVerify = true }),
			state: core.State{StorageDriver: "overlay2", TLSFiles: core.TLSFiles{
				CACert: "/etc/dinv/ca.pem", ServerCert: "/etc/dinv/server.pem", ServerKey: "/etc/dinv/server-key.pem"}},
			want: []string{
				"dockerd --host=unix:///tmp/t/docker.sock --host=tcp://0.0.0.0:2376 --tlsverify --tlscacert=/etc/dinv/ca.pem --tlscert=/etc/dinv/server.pem --tlskey=/etc/dinv/server-key.pem --data-root=/tmp/t/data --exec-root=/tmp/t/exec --pidfile=/tmp/t/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "without the pki stage's paths the flat names in -certs are used",
			profile: "26.1",
			flags:   placed(func(f *config.Flags) { f.TLS = true }),
			state:   core.State{StorageDriver: "overlay2"},
			want: []string{
				"containerd --config=/tmp/t/exec/containerd/containerd.toml --log-level=info",
				"dockerd --containerd=/tmp/t/exec/containerd/containerd.sock --host=unix:///tmp/t/docker.sock --host=tcp://0.0.0.0:2376 --tls --tlsverify=false --tlscert=/tmp/t/certs/docker.crt --tlskey=/tmp/t/certs/docker.key --data-root=/tmp/t/data --exec-root=/tmp/t/exec --pidfile=/tmp/t/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "an MTU of 9000 needs no flag",
			profile: "26.1",
			flags:   placed(nil),
			state:   core.State{StorageDriver: "overlay2", MTU: 9000},
			want: []string{
				"containerd --config=/tmp/t/exec/containerd/containerd.toml --log-level=info",
				"dockerd --containerd=/tmp/t/exec/containerd/containerd.sock --host=unix:///tmp/t/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/tmp/t/data --exec-root=/tmp/t/exec --pidfile=/tmp/t/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "an unknown MTU (no network stage) needs no flag",
			profile: "26.1",
			flags:   placed(nil),
			state:   core.State{StorageDriver: "overlay2", MTU: 0},
			want: []string{
				"containerd --config=/tmp/t/exec/containerd/containerd.toml --log-level=info",
				"dockerd --containerd=/tmp/t/exec/containerd/containerd.sock --host=unix:///tmp/t/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/tmp/t/data --exec-root=/tmp/t/exec --pidfile=/tmp/t/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "the user's MTU replaces the detected one, once, in its place",
			profile: "28.5",
			flags:   placed(nil),
			args:    []string{"--mtu", "1400"},
			state:   core.State{StorageDriver: "overlay2", MTU: 1450},
			want: []string{
				"dockerd --host=unix:///tmp/t/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --data-root=/tmp/t/data --exec-root=/tmp/t/exec --pidfile=/tmp/t/docker.pid --storage-driver=overlay2 --mtu=1400",
			},
		},
		{
			name:    "everything at once keeps the documented order",
			profile: "28.5",
			flags: placed(func(f *config.Flags) {
				f.TLSVerify = true
				f.InsecureRegistries = []string{"reg.local:5000"}
			}),
			env:   map[string]string{"DEBUG": "true"},
			args:  []string{"--insecure-registry", "10.0.0.0/8", "--registry-mirror=http://m", "-Htcp://127.0.0.1:2380", "--log-level=warn"},
			state: core.State{StorageDriver: "fuse-overlayfs", MTU: 1450},
			want: []string{
				"dockerd --host=unix:///tmp/t/docker.sock --host=tcp://0.0.0.0:2376 --host=tcp://127.0.0.1:2380 --tlsverify --tlscacert=/tmp/t/certs/ca.crt --tlscert=/tmp/t/certs/docker.crt --tlskey=/tmp/t/certs/docker.key --data-root=/tmp/t/data --exec-root=/tmp/t/exec --pidfile=/tmp/t/docker.pid --storage-driver=fuse-overlayfs --mtu=1450 --debug --insecure-registry=reg.local:5000 --insecure-registry=10.0.0.0/8 --registry-mirror=http://m --log-level=warn",
			},
		},
		{
			name:    "the user's TLS files replace the pki stage's",
			profile: "28.5",
			flags:   placed(func(f *config.Flags) { f.TLSVerify = true }),
			args:    []string{"--tlscacert=/u/ca.pem", "--tlscert", "/u/cert.pem", "--tlskey=/u/key.pem"},
			state: core.State{StorageDriver: "overlay2", TLSFiles: core.TLSFiles{
				CACert: "/etc/dinv/ca.pem", ServerCert: "/etc/dinv/server.pem", ServerKey: "/etc/dinv/server-key.pem"}},
			want: []string{
				"dockerd --host=unix:///tmp/t/docker.sock --host=tcp://0.0.0.0:2376 --tlsverify --tlscacert=/u/ca.pem --tlscert=/u/cert.pem --tlskey=/u/key.pem --data-root=/tmp/t/data --exec-root=/tmp/t/exec --pidfile=/tmp/t/docker.pid --storage-driver=overlay2",
			},
		},
		{
			name:    "dinv dockerd ARGS: exactly ARGS, and the flags the container calls for that ARGS do not set",
			profile: "28.5",
			exact:   []string{"-DH", "unix:///x.sock", "--ip6tables"},
			state:   core.State{StorageDriver: "vfs", MTU: 1450, EngineFlags: []string{"--iptables=false", "--ip6tables=false"}},
			want: []string{
				"dockerd -DH unix:///x.sock --ip6tables --iptables=false",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configtest.Resolve(t, tt.flags, tt.env, tt.args...)
			if tt.exact != nil {
				c, err := configtest.TryExact(nil, tt.exact...)
				if err != nil {
					t.Fatal(err)
				}
				cfg = *c
			}
			got := lines(buildCommands(&cfg, profile(t, tt.profile), &tt.state))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("buildCommands()\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestBuildCommandsWithSocketActivation: dinv's sockets replace the engine's
// own TCP listeners, all of them one --host=fd://, on every profile and in
// every TLS mode; -local has none.
func TestBuildCommandsWithSocketActivation(t *testing.T) {
	placed := func(g func(f *config.Flags)) func(f *config.Flags) {
		return func(f *config.Flags) {
			f.Socket, f.DataRoot, f.ExecRoot, f.Pidfile, f.CertDir, f.Storage = "/s.sock", "/d", "/e", "/p.pid", "/c", "vfs"
			g(f)
		}
	}
	tests := []struct {
		name    string
		profile string
		flags   func(f *config.Flags)
		args    []string
		want    string
	}{
		{"plain on 1.12: fd:// and no --tls=false (the flag is not needed there)", "1.12", func(f *config.Flags) {}, nil,
			"docker daemon --containerd=/run/containerd.sock --host=unix:///s.sock --host=fd:// --graph=/d --exec-root=/e --pidfile=/p.pid --storage-driver=vfs"},
		{"plain on 1.13", "1.13", func(f *config.Flags) {}, nil,
			"dockerd --host=unix:///s.sock --host=fd:// --graph=/d --exec-root=/e --pidfile=/p.pid --storage-driver=vfs"},
		{"plain on 20.10 keeps --tls=false", "20.10", func(f *config.Flags) {}, nil,
			"dockerd --host=unix:///s.sock --host=fd:// --tls=false --data-root=/d --exec-root=/e --pidfile=/p.pid --storage-driver=vfs"},
		{"-tls on 26.1: the engine serves TLS on dinv's socket", "26.1", func(f *config.Flags) { f.TLS = true }, nil,
			"dockerd --containerd=/e/containerd/containerd.sock --host=unix:///s.sock --host=fd:// --tls --tlsverify=false --tlscert=/c/docker.crt --tlskey=/c/docker.key --data-root=/d --exec-root=/e --pidfile=/p.pid --storage-driver=vfs"},
		{"-tlsverify on 28.5", "28.5", func(f *config.Flags) { f.TLSVerify = true }, nil,
			"dockerd --host=unix:///s.sock --host=fd:// --tlsverify --tlscacert=/c/ca.crt --tlscert=/c/docker.crt --tlskey=/c/docker.key --data-root=/d --exec-root=/e --pidfile=/p.pid --storage-driver=vfs"},
		{"a user's TCP host is bound by dinv too: one fd:// for both", "28.5", func(f *config.Flags) {}, []string{"--host=tcp://0.0.0.0:2380"},
			"dockerd --host=unix:///s.sock --host=fd:// --tls=false --data-root=/d --exec-root=/e --pidfile=/p.pid --storage-driver=vfs"},
		{"-local: no socket at all", "28.5", func(f *config.Flags) { f.Local = true }, nil,
			"dockerd --host=unix:///s.sock --data-root=/d --exec-root=/e --pidfile=/p.pid --storage-driver=vfs"},
		{"plain on 29 keeps --tls=false", "29", func(f *config.Flags) {}, nil,
			"dockerd --host=unix:///s.sock --host=fd:// --tls=false --data-root=/d --exec-root=/e --pidfile=/p.pid --storage-driver=vfs"},
		{"-tlsverify on 29", "29", func(f *config.Flags) { f.TLSVerify = true }, nil,
			"dockerd --host=unix:///s.sock --host=fd:// --tlsverify --tlscacert=/c/ca.crt --tlscert=/c/docker.crt --tlskey=/c/docker.key --data-root=/d --exec-root=/e --pidfile=/p.pid --storage-driver=vfs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configtest.Resolve(t, placed(tt.flags), nil, tt.args...)
			got := lines(buildCommands(&cfg, profile(t, tt.profile), &core.State{}))
			if engine := got[len(got)-1]; engine != tt.want {
				t.Errorf("engine command line\n got %q\nwant %q", engine, tt.want)
			}
		})
	}
}

func TestBuildCommandsDoesNotShareTheProfilesSlices(t *testing.T) {
	p := profile(t, "1.12")
	cfg, s := build(t, nil, nil, nil, core.State{})
	cmds := buildCommands(&cfg, p, &s)
	cmds[0].Args[0] = "changed"
	cmds[1].Args[0] = "changed"
	if p.Args.Containerd[0] != "docker-containerd" || p.Args.Daemon[0] != "docker" {
		t.Errorf("the profile was changed through the commands: %q %q", p.Args.Containerd, p.Args.Daemon)
	}
}

func TestCheckRegistry(t *testing.T) {
	tests := []struct {
		name  string
		entry string
		want  string // "" when valid, else the reason
	}{
		{"a host name is valid", "registry", ""},
		{"a host with a port is valid", "registry.local:5000", ""},
		{"an IPv4 address is valid", "192.168.1.10", ""},
		{"an IPv4 address with a port is valid", "192.168.1.10:5000", ""},
		{"a bracketed IPv6 address with a port is valid", "[fd00::1]:5000", ""},
		{"a bare IPv6 address is valid", "fd00::1", ""},
		{"an IPv4 CIDR is valid", "10.0.0.0/8", ""},
		{"an IPv6 CIDR is valid", "fd00::/64", ""},
		{"a name with underscores and dashes is valid", "my_reg-1.example.com", ""},
		{"an empty entry is rejected", "", "empty entry"},
		{"a blank entry is rejected", "  ", "empty entry"},
		{"an http scheme is rejected", "http://registry:5000", "has a scheme"},
		{"an https scheme is rejected", "https://registry", "has a scheme"},
		{"a path is rejected", "registry:5000/v2", "has a path or is not a valid CIDR"},
		{"a broken CIDR is rejected", "10.0.0.0/33", "has a path or is not a valid CIDR"},
		{"a space inside is rejected", "registry 5000", "contains spaces"},
		{"a leading space is rejected", " registry", "contains spaces"},
		{"a port out of range is rejected", "registry:70000", `port "70000" is not a number in 1-65535`},
		{"a port that is not a number is rejected", "registry:http", `port "http" is not a number in 1-65535`},
		{"an empty port is rejected", "registry:", `port "" is not a number in 1-65535`},
		{"a host with bad characters is rejected", "reg!stry:5000", `"reg!stry" is not a host name or IP address`},
		{"a label starting with a dash is rejected", "-registry", `"-registry" is not a host name or IP address`},
		{"an empty label is rejected", "registry..local", `"registry..local" is not a host name or IP address`},
		{"an IPv6 address with a port but no brackets is rejected", "fd00::1:5000:x", "not host[:port]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkRegistry(tt.entry)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("checkRegistry(%q) = %q, want %q", tt.entry, got, tt.want)
			}
		})
	}
}

func TestArgsValidate(t *testing.T) {
	tests := []struct {
		name       string
		registries []string
		args       []string
		want       string // "" for no error
	}{
		{"no registries is fine", nil, nil, ""},
		{"good registries are fine", []string{"reg:5000", "10.0.0.0/8"}, nil, ""},
		{"a bad registry is a usage error naming it", []string{"reg:5000", "http://reg:5000"}, nil,
			`-insecure-registry "http://reg:5000": has a scheme (want host[:port] or a CIDR)`},
		{"every bad registry is named", []string{"", "a b"}, nil,
			`-insecure-registry "": empty entry (want host[:port] or a CIDR); -insecure-registry "a b": contains spaces (want host[:port] or a CIDR)`},
		{"a bad registry among the engine's arguments is named too", nil, []string{"--insecure-registry=http://r"},
			`--insecure-registry=http://r (engine argument): insecure registry "http://r": has a scheme (want host[:port] or a CIDR)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configtest.Resolve(t, func(f *config.Flags) { f.InsecureRegistries = tt.registries }, nil, tt.args...)
			err := New().(core.Validator).Validate(&cfg, profile(t, "26.1"))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want || !core.IsUsage(err)):
				t.Errorf("Validate() = %v, want usage error %q", err, tt.want)
			}
		})
	}
}

func TestArgsRequires(t *testing.T) {
	tests := []struct {
		name  string
		flags func(f *config.Flags)
		want  []string
	}{
		{"plain needs no pki", func(f *config.Flags) {}, nil},
		{"-tls needs pki", func(f *config.Flags) { f.TLS = true }, []string{"pki"}},
		{"-tlsverify needs pki", func(f *config.Flags) { f.TLSVerify = true }, []string{"pki"}},
		{"-local -tlsverify needs no pki: no TCP, no TLS", func(f *config.Flags) { f.Local, f.TLSVerify = true, true }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configtest.Resolve(t, tt.flags, nil)
			if got := New().(core.Requirer).Requires(&cfg); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Requires() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestArgsStageFillsCommands(t *testing.T) {
	cfg, s := build(t, func(f *config.Flags) { f.Local = true }, nil, nil, core.State{})
	s.Config, s.Profile = cfg, profile(t, "26.1")
	if err := New().Run(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	want := []string{"containerd --config=/var/run/docker/containerd/containerd.toml --log-level=info",
		"dockerd --containerd=/var/run/docker/containerd/containerd.sock --host=unix:///var/run/docker.sock --data-root=/var/lib/docker --exec-root=/var/run/docker --pidfile=/var/run/docker.pid --storage-driver=overlay2"}
	if got := lines(s.Commands); !reflect.DeepEqual(got, want) {
		t.Errorf("Commands = %q, want %q", got, want)
	}
	if _, ok := New().(core.DryRunSkipper); ok {
		t.Error("args is a DryRunSkipper; -dry-run would skip it")
	}
}

// BenchmarkBuildArgs builds the fullest -tlsverify command line.
func BenchmarkBuildArgs(b *testing.B) {
	cfg, s := build(b, func(f *config.Flags) {
		f.TLSVerify = true
		f.InsecureRegistries = []string{"reg.local:5000", "10.0.0.0/8"}
	}, map[string]string{"DEBUG": "true"}, []string{"--registry-mirror=http://mirror:5000"}, core.State{MTU: 1450})
	p := profile(b, "28.5")
	b.ReportAllocs()
	for b.Loop() {
		buildCommands(&cfg, p, &s)
	}
}
