package args

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// The user may set engine settings directly, as docker:dind users do: with
// arguments for the engine (`dinv --mtu=1400 --data-root=/x`) and with the
// engine's own configuration file (/etc/docker/daemon.json). DinV then passes
// no flag of its own for that setting: dockerd refuses a setting given both
// as a flag and in its file, and a flag given twice would leave the engine
// to choose. Settings the other stages depend on (where the data and run
// files are, the storage driver, the insecure registries) also become DinV's
// own configuration, so that every stage agrees with the engine.

// DefaultDaemonConfig is the engine's configuration file unless the user's
// arguments name another (--config-file).
const DefaultDaemonConfig = "/etc/docker/daemon.json"

// settingOfFlag maps the engine's flag names, long and short, to the setting
// they set, named as dockerd's long flag.
var settingOfFlag = map[string]string{
	"H": "host", "host": "host",
	"g": "data-root", "graph": "data-root", "data-root": "data-root",
	"exec-root": "exec-root",
	"p":         "pidfile", "pidfile": "pidfile",
	"s": "storage-driver", "storage-driver": "storage-driver",
	"D": "debug", "debug": "debug",
	"mtu":               "mtu",
	"insecure-registry": "insecure-registry",
	"tls":               "tls", "tlsverify": "tlsverify",
	"tlscacert": "tlscacert", "tlscert": "tlscert", "tlskey": "tlskey",
	"containerd":  "containerd",
	"config-file": "config-file",
	// Those a stage may add (State.EngineFlags).
	"iptables": "iptables", "ip6tables": "ip6tables", "b": "bridge", "bridge": "bridge", "ip-forward": "ip-forward",
	"default-network-opt": "default-network-opt", "ip-masq": "ip-masq",
}

// settingOfKey maps daemon.json keys to the same settings.
var settingOfKey = map[string]string{
	"hosts": "host", "graph": "data-root", "data-root": "data-root", "exec-root": "exec-root",
	"pidfile": "pidfile", "storage-driver": "storage-driver", "debug": "debug", "mtu": "mtu",
	"insecure-registries": "insecure-registry", "tls": "tls", "tlsverify": "tlsverify",
	"tlscacert": "tlscacert", "tlscert": "tlscert", "tlskey": "tlskey", "containerd": "containerd",
	"iptables": "iptables", "ip6tables": "ip6tables", "bridge": "bridge", "ip-forward": "ip-forward",
	"default-network-opts": "default-network-opt", "ip-masq": "ip-masq",
}

// engineBools are dockerd's boolean flags (its reference, 20.10 to 28.x): one
// never takes the next word as its value.
var engineBools = map[string]bool{
	"D": true, "debug": true, "experimental": true, "icc": true, "init": true, "ip-forward": true,
	"ip-forward-no-drop": true, "ip-masq": true, "ip6tables": true, "iptables": true, "ipv6": true,
	"live-restore": true, "no-new-privileges": true, "raw-logs": true, "rootless": true,
	"selinux-enabled": true, "tls": true, "tlsverify": true, "userland-proxy": true, "validate": true,
	"v": true, "version": true, "h": true, "help": true,
}

// TakesNextWord reports whether the engine's flag name (without dashes),
// given without "=value", takes the next word as its value: every flag but
// the engine's booleans, when that word is not a flag itself.
func TakesNextWord(name, next string) bool {
	return !engineBools[name] && !strings.HasPrefix(next, "-")
}

// EngineFlag is one flag of the engine's arguments as the user gave it.
type EngineFlag struct {
	Name  string   // without dashes: "mtu", "H"
	Value string   // "" for a bare boolean
	Words []string // the arguments it took: ["--mtu=1400"] or ["--mtu", "1400"]
}

// SplitEngineArgs reads args meant for the engine as flags: --name=value,
// --name value (unless the flag is one of the engine's booleans), -X value.
// A word that is neither a flag nor a flag's value is an error naming it.
func SplitEngineArgs(args []string) ([]EngineFlag, error) {
	var out []EngineFlag
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' {
			return nil, core.Usagef("unexpected argument %q: not a flag, and a command goes first (dinv sh)", a)
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := EngineFlag{Name: name, Value: value, Words: []string{a}}
		if !hasValue && i+1 < len(args) && TakesNextWord(name, args[i+1]) {
			i++
			f.Value, f.Words = args[i], append(f.Words, args[i])
		}
		out = append(out, f)
	}
	return out, nil
}

// ReadDaemonConfig reads the engine's configuration file: its settings by
// key, nil when it does not exist. A file that is not a JSON object is a
// usage error naming the file and the line.
func ReadDaemonConfig(path string) (map[string]json.RawMessage, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, core.Usagef("%s: %v", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, core.Usagef("%s: %v", path, err)
	}
	var keys map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&keys); err != nil {
		return nil, core.Usagef("%s: not valid JSON: %s", path, jsonProblem(err, data))
	}
	return keys, nil
}

// jsonProblem says where a JSON error is, by line.
func jsonProblem(err error, data []byte) string {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 {
		return err.Error()
	}
	line := 1 + bytes.Count(data[:min(int(off), len(data))], []byte("\n"))
	return fmt.Sprintf("line %d: %v", line, err)
}

// Given records a setting the user gave the engine, and where.
type Given struct {
	Setting string // dockerd's long flag name
	Source  string // "arguments" or the configuration file's path
}

// ApplyEngineSettings makes cfg agree with the settings the user gives the
// engine directly: flags among cfg.ExtraArgs and keys of the configuration
// file (read with read; cfg.DaemonConfig, or --config-file). Where the data
// and run files are, the storage driver and the insecure registries become
// cfg's own (the arguments are then passed once, as DinV's flags); the rest
// stay the user's. Every setting given is recorded in cfg.EngineSet, and
// DinV passes no flag of its own for it. explicit names the dinv flags the
// user gave: a file that contradicts one of them, or -local, is a usage error
// naming the file and the key.
func ApplyEngineSettings(cfg *core.Config, explicit map[string]bool,
	read func(path string) (map[string]json.RawMessage, error)) ([]Given, error) {
	flags, err := SplitEngineArgs(cfg.ExtraArgs)
	if err != nil {
		return nil, err
	}
	cfg.EngineSet = map[string]string{}
	var keep []string
	var given []Given
	var unixHost string
	for _, f := range flags {
		setting := settingOfFlag[f.Name]
		switch setting {
		case "":
			keep = append(keep, f.Words...)
			continue
		case "data-root":
			cfg.DataRoot = f.Value
		case "exec-root":
			cfg.ExecRoot = f.Value
		case "pidfile":
			cfg.Pidfile = f.Value
		case "storage-driver":
			cfg.Storage, cfg.StorageSet = f.Value, true
		case "insecure-registry":
			cfg.InsecureRegistries = append(cfg.InsecureRegistries, f.Value)
		case "config-file":
			cfg.DaemonConfig = f.Value
			keep = append(keep, f.Words...)
		case "host":
			if p, ok := strings.CutPrefix(f.Value, "unix://"); ok && unixHost == "" {
				unixHost = p
			}
			fallthrough
		default:
			keep = append(keep, f.Words...)
		}
		if setting == "config-file" {
			continue
		}
		if _, done := cfg.EngineSet[setting]; !done && !ownSetting(setting) {
			cfg.EngineSet[setting] = "arguments"
		}
		given = append(given, Given{Setting: setting, Source: "arguments"})
	}
	cfg.ExtraArgs = keep
	if cfg.DaemonConfig == "" {
		cfg.DaemonConfig = DefaultDaemonConfig
	}
	file, err := read(cfg.DaemonConfig)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(file))
	for k := range file {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		setting := settingOfKey[key]
		if setting == "" {
			continue
		}
		if src, both := cfg.EngineSet[setting]; both || argGiven(given, setting) && ownSetting(setting) {
			if !both {
				src = "arguments"
			}
			return nil, core.Usagef("%s: %q is also given in the engine's %s: dockerd takes a setting once", cfg.DaemonConfig, key, src)
		}
		if err := applyKey(cfg, explicit, key, setting, file[key], &unixHost); err != nil {
			return nil, err
		}
		cfg.EngineSet[setting] = cfg.DaemonConfig
		given = append(given, Given{Setting: setting, Source: cfg.DaemonConfig})
	}
	if _, ok := cfg.EngineSet["host"]; ok {
		// The engine listens where the user says: no socket of DinV's, and
		// DinV asks for readiness on the user's unix socket, if any.
		cfg.SocketActivation = false
		if unixHost != "" {
			cfg.Socket = unixHost
		}
	}
	return given, nil
}

// ownSetting reports whether a setting becomes DinV's own configuration
// (passed once, as DinV's flag) rather than staying the user's.
func ownSetting(s string) bool {
	switch s {
	case "data-root", "exec-root", "pidfile", "storage-driver", "insecure-registry":
		return true
	}
	return false
}

func argGiven(given []Given, setting string) bool {
	for _, g := range given {
		if g.Setting == setting {
			return true
		}
	}
	return false
}

// applyKey takes one daemon.json setting into cfg, or refuses a file that
// contradicts the command line.
func applyKey(cfg *core.Config, explicit map[string]bool, key, setting string, raw json.RawMessage, unixHost *string) error {
	bad := func(format string, args ...interface{}) error {
		return core.Usagef("%s: %q: %s", cfg.DaemonConfig, key, fmt.Sprintf(format, args...))
	}
	var s string
	var list []string
	switch setting {
	case "host", "insecure-registry":
		if err := json.Unmarshal(raw, &list); err != nil {
			return bad("want a list of strings")
		}
	case "data-root", "exec-root", "pidfile", "storage-driver":
		if err := json.Unmarshal(raw, &s); err != nil || s == "" {
			return bad("want a non-empty string")
		}
	}
	contradicts := func(flag, have string) error {
		if explicit[flag] && have != s {
			return bad("contradicts -%s %s on the command line", flag, have)
		}
		return nil
	}
	switch setting {
	case "host":
		if cfg.Local {
			return bad("the engine would listen on %s, but -local asks for the unix socket only", strings.Join(list, ", "))
		}
		for _, h := range list {
			if p, ok := strings.CutPrefix(h, "unix://"); ok && *unixHost == "" {
				*unixHost = p
			}
		}
	case "data-root":
		if err := contradicts("data-root", cfg.DataRoot); err != nil {
			return err
		}
		cfg.DataRoot = s
	case "exec-root":
		if err := contradicts("exec-root", cfg.ExecRoot); err != nil {
			return err
		}
		cfg.ExecRoot = s
	case "pidfile":
		if err := contradicts("pidfile", cfg.Pidfile); err != nil {
			return err
		}
		cfg.Pidfile = s
	case "storage-driver":
		if err := contradicts("storage", cfg.Storage); err != nil {
			return err
		}
		cfg.Storage, cfg.StorageSet = s, true
	case "insecure-registry":
		if explicit["insecure-registry"] {
			return bad("-insecure-registry is given on the command line too: list the registries in one place")
		}
		cfg.InsecureRegistries = nil // the file's list is the engine's
	case "tls", "tlsverify":
		var on bool
		if err := json.Unmarshal(raw, &on); err != nil {
			return bad("want true or false")
		}
		if flag := setting; explicit[flag] && !on {
			return bad("is false, but -%s is on the command line", flag)
		}
	}
	return nil
}
