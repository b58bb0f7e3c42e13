package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/dinv/dinv/core"
)

// What dockerd's command line means, as its flag package (pflag) reads it:
// --name=value, --name value, -X value, -Xvalue, -X=value and short flags
// run together (-DH value); a boolean never takes the next word. The names
// are dockerd's reference, 1.12 to 29.

// shorthands maps dockerd's one-letter flags to their long names.
var shorthands = map[byte]string{
	'b': "bridge", 'D': "debug", 'G': "group", 'H': "host", 'l': "log-level",
	'p': "pidfile", 's': "storage-driver", 'v': "version", 'h': "help",
	'g': "graph", // 1.12 to 17.x
}

// engineBools are dockerd's boolean flags: none takes the next word.
var engineBools = map[string]bool{
	"allow-direct-routing": true, "cri-containerd": true, "debug": true,
	"experimental": true, "help": true, "icc": true, "init": true, "ip-forward": true,
	"ip-forward-no-drop": true, "ip-masq": true, "ip6tables": true, "iptables": true, "ipv6": true,
	"live-restore": true, "no-new-privileges": true, "raw-logs": true, "rootless": true,
	"selinux-enabled": true, "tls": true, "tlsverify": true, "userland-proxy": true, "validate": true,
	"version": true,
}

// aliases are dockerd's older names of a setting.
var aliases = map[string]string{"graph": "data-root"}

// fileKeys maps daemon.json keys to the long flag of the same setting where
// the two differ (lists are plural in the file).
var fileKeys = map[string]string{
	"hosts": "host", "graph": "data-root", "insecure-registries": "insecure-registry",
	"registry-mirrors": "registry-mirror", "labels": "label", "storage-opts": "storage-opt",
	"log-opts": "log-opt", "exec-opts": "exec-opt", "default-network-opts": "default-network-opt",
	"runtimes": "add-runtime", "authorization-plugins": "authorization-plugin",
	"allow-nondistributable-artifacts": "allow-nondistributable-artifacts", "dns-opts": "dns-opt",
	"dns-search": "dns-search", "default-ulimits": "default-ulimit", "features": "feature",
}

// IsShorthand reports whether word starts with one of dockerd's one-letter
// flags (-H, -Hvalue, -DH ...), a letter dinv's own flags never begin with
// alone.
func IsShorthand(word string) bool {
	if len(word) < 2 || word[0] != '-' || word[1] == '-' {
		return false
	}
	_, ok := shorthands[word[1]]
	return ok && (len(word) == 2 || word[2] == '=' || !isLower(word[1:]))
}

func isLower(s string) bool { return strings.ToLower(s) == s && !strings.ContainsAny(s, "=:/.") }

// IsBool reports whether dockerd's flag name (long, without dashes) is a boolean.
func IsBool(name string) bool { return engineBools[name] }

// EngineFlag is one setting of the engine's command line, as dockerd reads it.
type EngineFlag struct {
	Name  string   // the long name, without dashes: "host", "debug"
	Value string   // "true" for a bare boolean
	Words []string // the arguments it came from: ["-DH", "x"] gives two flags sharing them
}

// ParseEngineArgs reads the engine's arguments as dockerd does. A word that
// is not a flag, a flag that needs a value at the end, or an unknown
// one-letter flag is a usage error naming it.
func ParseEngineArgs(args []string) ([]EngineFlag, error) {
	var out []EngineFlag
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--" || len(a) < 2 || a[0] != '-':
			return nil, core.Usagef("engine argument %q: not a flag (dockerd takes flags only; a command goes first: dinv sh ...)", a)
		case strings.HasPrefix(a, "--"):
			name, value, hasValue := strings.Cut(a[2:], "=")
			if name == "" {
				return nil, core.Usagef("engine argument %q: no flag name", a)
			}
			f := EngineFlag{Name: name, Value: value, Words: []string{a}}
			switch {
			case hasValue:
			case IsBool(name):
				f.Value = "true"
			case i+1 < len(args):
				i++
				f.Value, f.Words = args[i], append(f.Words, args[i])
			default:
				return nil, core.Usagef("engine argument %s needs a value", a)
			}
			out = append(out, f)
		default:
			flags, used, err := parseShort(a, args[i+1:])
			if err != nil {
				return nil, err
			}
			i += used
			out = append(out, flags...)
		}
	}
	return out, nil
}

// parseShort reads one word of one-letter flags (-D, -Hvalue, -H=value,
// -DH value), taking the next word from rest when the last letter needs a
// value; used says how many of rest it took.
func parseShort(word string, rest []string) (flags []EngineFlag, used int, err error) {
	letters := word[1:]
	for len(letters) > 0 {
		name, ok := shorthands[letters[0]]
		if !ok {
			return nil, 0, core.Usagef("engine argument %s: unknown flag -%c", word, letters[0])
		}
		f := EngineFlag{Name: name}
		switch {
		case len(letters) > 1 && letters[1] == '=':
			f.Value, letters = letters[2:], ""
		case IsBool(name):
			f.Value, letters = "true", letters[1:]
		case len(letters) > 1:
			f.Value, letters = letters[1:], ""
		case len(rest) > 0:
			f.Value, letters, used = rest[0], "", 1
		default:
			return nil, 0, core.Usagef("engine argument %s: -%c needs a value", word, word[len(word)-1])
		}
		flags = append(flags, f)
	}
	words := append([]string{word}, rest[:used]...)
	for i := range flags {
		flags[i].Words = words
	}
	return flags, used, nil
}

// setting is the long name of the setting a flag sets (aliases resolved).
func setting(name string) string {
	if a, ok := aliases[name]; ok {
		return a
	}
	return name
}

// Default ports and socket, as dockerd has them.
const (
	defaultSocket  = "/var/run/docker.sock"
	defaultPort    = 2375
	defaultTLSPort = 2376
)

// ParseHost reads one --host value as dockerd does: unix://PATH (the
// default socket when empty), tcp://HOST:PORT (HOST defaults to localhost,
// PORT to 2375; a bare HOST:PORT is tcp), fd://. An empty value is the
// default socket, or tcp://localhost:2376 with TLS.
func ParseHost(v string, tls bool) (core.Listener, error) {
	h := strings.TrimSpace(v)
	if h == "" {
		if tls {
			return core.Listener{Proto: "tcp", Addr: net.JoinHostPort("localhost", strconv.Itoa(defaultTLSPort))}, nil
		}
		return core.Listener{Proto: "unix", Addr: defaultSocket}, nil
	}
	proto, addr, ok := strings.Cut(h, "://")
	if !ok {
		proto, addr = "tcp", h
	}
	switch proto {
	case "unix":
		if strings.Contains(addr, "://") {
			return core.Listener{}, fmt.Errorf("%q: not a unix socket path", v)
		}
		if addr == "" {
			addr = defaultSocket
		}
		return core.Listener{Proto: "unix", Addr: addr}, nil
	case "tcp":
		a, err := tcpAddr(addr)
		if err != nil {
			return core.Listener{}, fmt.Errorf("%q: %v", v, err)
		}
		return core.Listener{Proto: "tcp", Addr: a}, nil
	case "fd":
		return core.Listener{Proto: "fd", Addr: addr}, nil
	}
	return core.Listener{}, fmt.Errorf("%q: not unix://, tcp:// or fd://", v)
}

// tcpAddr is a tcp:// address as dockerd completes it: HOST:PORT.
func tcpAddr(addr string) (string, error) {
	if addr == "" {
		return net.JoinHostPort("localhost", strconv.Itoa(defaultPort)), nil
	}
	if strings.Contains(addr, "://") {
		return "", fmt.Errorf("not a tcp address")
	}
	if strings.HasSuffix(addr, "]:") {
		addr += strconv.Itoa(defaultPort)
	}
	u, err := url.Parse("tcp://" + addr)
	if err != nil {
		return "", fmt.Errorf("not host:port")
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, port, err = net.SplitHostPort(net.JoinHostPort(u.Host, strconv.Itoa(defaultPort)))
	}
	if err != nil {
		return "", fmt.Errorf("not host:port")
	}
	if host == "" {
		host = "localhost"
	}
	if port == "" {
		port = strconv.Itoa(defaultPort)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("port %q is not a number in 0-65535", port)
	}
	return net.JoinHostPort(host, port), nil
}

// parseBool reads a boolean flag's value as pflag does.
func parseBool(v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%q is not true or false", v)
	}
	return b, nil
}
