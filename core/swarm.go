package core

import "time"

// Swarm is the Docker swarm a host creates or joins: the -swarm-* flags, or
// the YAML file's swarm: keys (a flag wins over its key).
type Swarm struct {
	Init      bool          `yaml:"init"`       // -swarm-init: create the swarm (nothing if already a manager)
	Join      string        `yaml:"join"`       // -swarm-join ADDR[:PORT]: join the swarm ADDR manages
	Role      string        `yaml:"role"`       // -swarm-role: manager or worker (default worker)
	Advertise string        `yaml:"advertise"`  // -swarm-advertise: the address others reach (default the container's)
	TokenFile string        `yaml:"token-file"` // -swarm-token-file: the join token's file
	Timeout   time.Duration `yaml:"timeout"`    // -swarm-timeout: how long joining retries (default 2m)
	Token     Secret        `yaml:"-"`          // DINV_SWARM_TOKEN: the join token itself
}

// Enabled reports whether the host takes part in a swarm.
func (s *Swarm) Enabled() bool { return s.Init || s.Join != "" }

// Secret is a value that must never reach a log line: it prints, formats and
// marshals as "REDACTED". Value returns it.
type Secret string

func (Secret) String() string               { return "REDACTED" }
func (Secret) GoString() string             { return "REDACTED" }
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"REDACTED"`), nil }
func (Secret) MarshalText() ([]byte, error) { return []byte("REDACTED"), nil }
func (s Secret) Value() string              { return string(s) }
