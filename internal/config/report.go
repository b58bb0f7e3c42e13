package config

import (
	"sort"
	"strings"

	"github.com/dinv/dinv/core"
)

// Describe is the resolved configuration as key/value pairs for a log line:
// what the engine serves and every setting the user gave, with its source.
func Describe(c *core.Config) []interface{} {
	e := &c.Engine
	var hosts []string
	for _, l := range e.Listeners {
		hosts = append(hosts, l.URL())
	}
	kv := []interface{}{"hosts", strings.Join(hosts, ","), "tls", e.TLS.Value.String(), "tls_from", e.TLS.From.String()}
	if e.Exact {
		kv = append(kv, "mode", "dockerd ARGS: the engine gets exactly them")
	}
	return kv
}

// GivenSetting is an engine setting the user gave, and where.
type GivenSetting struct {
	Name string // dockerd's long flag name
	From core.Source
}

// Given lists the engine settings the user gave, by name.
func Given(c *core.Config) []GivenSetting {
	out := make([]GivenSetting, 0, len(c.Engine.Given))
	for name, src := range c.Engine.Given {
		out = append(out, GivenSetting{name, src})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// scrubbed are variables dinv reads once and no process it starts may
// inherit: the swarm join token, socket activation's (the launcher sets its
// own), and the docker client's TLS variables, which CI platforms pass to
// services too and which would change the engine's TLS defaults.
var scrubbed = []string{EnvSwarmToken, "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"}

// Scrub removes them with unset (os.Unsetenv).
func Scrub(unset func(string) error) {
	for _, v := range scrubbed {
		unset(v)
	}
}
