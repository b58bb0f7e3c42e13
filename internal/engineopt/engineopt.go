// Package engineopt reads engine settings DinV passes no flag for but must
// respect, as the user gives them to the engine itself: among the engine's
// arguments (Config.ExtraArgs) or in its configuration file
// (Config.DaemonConfig, /etc/docker/daemon.json). Docker 29's storage and
// firewall choices are such settings: the feature containerd-snapshotter
// decides where images live, and firewall-backend=nftables rules out swarm
// mode. Plain functions: the engine's own rules, no state.
package engineopt

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"

	"github.com/pkg/errors"
)

// Setting is a value the user gives an engine setting, and where.
type Setting struct {
	Value  string
	Source string // "arguments" or the configuration file's path
}

// Lookup returns the user's value of the engine setting spelled --flag on
// the command line and key in the configuration file at path: the flag's
// last value among args (--flag=value or --flag value, as dockerd reads
// them), else the file's key (a string, or a number or boolean as written).
// ok is false when neither gives it; a file that cannot be read is an error.
func Lookup(args []string, path, flag, key string) (s Setting, ok bool, err error) {
	if v, found := lastFlag(args, flag); found {
		return Setting{Value: v, Source: "arguments"}, true, nil
	}
	file, err := readFile(path)
	if err != nil {
		return Setting{}, false, err
	}
	raw, found := file[key]
	if !found {
		return Setting{}, false, nil
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return Setting{Value: str, Source: path}, true, nil
	}
	return Setting{Value: string(raw), Source: path}, true, nil
}

// Feature returns whether the user turns the engine's feature name on or
// off: --feature name[=bool] among args (the last one wins), else the
// configuration file's "features": {name: bool}. set is false when neither
// says; the engine's default then applies.
func Feature(args []string, path, name string) (on, set bool, source string, err error) {
	for i := len(args) - 1; i >= 0; i-- {
		v, isFlag := flagValue(args, i, "feature")
		if !isFlag {
			continue
		}
		n, b, hasBool := strings.Cut(v, "=")
		if n != name {
			continue
		}
		if !hasBool {
			return true, true, "arguments", nil
		}
		on, err := strconv.ParseBool(b)
		if err != nil {
			return false, false, "", errors.Errorf("--feature %s: %q is not a boolean", v, b)
		}
		return on, true, "arguments", nil
	}
	file, err := readFile(path)
	if err != nil {
		return false, false, "", err
	}
	raw, found := file["features"]
	if !found {
		return false, false, "", nil
	}
	var features map[string]bool
	if err := json.Unmarshal(raw, &features); err != nil {
		return false, false, "", errors.Errorf("%s: \"features\": want an object of booleans", path)
	}
	on, set = features[name]
	if !set {
		return false, false, "", nil
	}
	return on, true, path, nil
}

// lastFlag returns the last value of --flag (or -flag) among args.
func lastFlag(args []string, flag string) (string, bool) {
	for i := len(args) - 1; i >= 0; i-- {
		if v, ok := flagValue(args, i, flag); ok {
			return v, true
		}
	}
	return "", false
}

// flagValue returns the value of args[i] when it is --flag=value, or
// --flag followed by its value.
func flagValue(args []string, i int, flag string) (string, bool) {
	a := args[i]
	if !strings.HasPrefix(a, "-") {
		return "", false
	}
	name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
	if name != flag {
		return "", false
	}
	if hasValue {
		return value, true
	}
	if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
		return args[i+1], true
	}
	return "", true
}

// readFile reads the engine's configuration file: its keys, none when it
// does not exist.
func readFile(path string) (map[string]json.RawMessage, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, errors.Wrap(err, "read the engine's configuration file")
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return nil, errors.Wrapf(err, "%s: not a JSON object", path)
	}
	return keys, nil
}
