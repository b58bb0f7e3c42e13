package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// modelled are the engine settings dinv resolves itself, by long flag name;
// the user's other engine arguments pass through as they are.
var modelled = map[string]bool{
	"host": true, "tls": true, "tlsverify": true, "tlscacert": true, "tlscert": true, "tlskey": true,
	"data-root": true, "exec-root": true, "pidfile": true, "storage-driver": true,
	"insecure-registry": true, "mtu": true, "debug": true, "config-file": true,
}

// observed are engine settings dinv decides by but passes on as the user
// gave them: they stay among the arguments (or in daemon.json), and their
// values are read too.
var observed = map[string]bool{"feature": true, "firewall-backend": true, "iptables": true}

// given is one engine setting as one source gives it.
type given struct {
	values []string // each value, in order (a list, or a scalar given more than once: the last counts)
	from   core.Source
}

// last is the value that counts for a scalar setting.
func (g *given) last() string { return g.values[len(g.values)-1] }

// userSettings are the engine settings one source (the engine's arguments,
// or its daemon.json) gives, by long flag name.
type userSettings map[string]*given

func (u userSettings) add(name, value string, from core.Source) {
	if g, ok := u[name]; ok {
		g.values = append(g.values, value)
		g.from = from
		return
	}
	u[name] = &given{values: []string{value}, from: from}
}

// fromArgs reads the engine's arguments: the settings dinv models, every
// setting given (by long name) and the words of the others, in order.
func fromArgs(args []string) (userSettings, map[string]core.Source, []string, error) {
	flags, err := ParseEngineArgs(args)
	if err != nil {
		return nil, nil, nil, err
	}
	u := userSettings{}
	all := map[string]core.Source{}
	var rest []string
	var lastWords []string
	for _, f := range flags {
		name := setting(f.Name)
		from := core.Source{Kind: core.FromArg, Name: strings.Join(f.Words, " ")}
		all[name] = from
		if modelled[name] {
			u.add(name, f.Value, from)
			continue
		}
		if observed[name] {
			u.add(name, f.Value, from)
		}
		// Words shared by flags run together (-DG x) are kept once.
		if !sameWords(lastWords, f.Words) {
			rest = append(rest, f.Words...)
		}
		lastWords = f.Words
	}
	return u, all, rest, nil
}

func sameWords(a, b []string) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	return &a[0] == &b[0]
}

// fromFile reads the engine's daemon.json (data; nil when there is none):
// the settings dinv models, and every setting given, by long flag name. A
// file that is not a JSON object, or a modelled key of the wrong type, is a
// usage error naming the file, the key and the line.
func fromFile(path string, data []byte) (userSettings, map[string]core.Source, error) {
	u := userSettings{}
	all := map[string]core.Source{}
	if data == nil {
		return u, all, nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return nil, nil, core.Usagef("%s: not valid JSON (an object of settings): %s", path, jsonProblem(err, data))
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, key := range names {
		name := key
		if n, ok := fileKeys[key]; ok {
			name = n
		}
		name = setting(name)
		from := core.Source{Kind: core.FromFile, Name: path + ": " + key}
		if prev, both := all[name]; both {
			return nil, nil, core.Usagef("%s: %q and %q set one setting", path, strings.TrimPrefix(prev.Name, path+": "), key)
		}
		all[name] = from
		if !modelled[name] && !observed[name] {
			continue
		}
		values, err := fileValues(name, keys[key])
		if err != nil {
			return nil, nil, core.Usagef("%s: %q: %v", path, key, err)
		}
		for _, v := range values {
			u.add(name, v, from)
		}
		if len(values) == 0 {
			u[name] = &given{from: from} // an empty list: the setting is the file's, with nothing in it
		}
	}
	return u, all, nil
}

// fileValues decodes one modelled daemon.json value into the strings its
// flag would carry.
func fileValues(name string, raw json.RawMessage) ([]string, error) {
	switch name {
	case "host", "insecure-registry":
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, errors.New("want a list of strings")
		}
		return list, nil
	case "feature":
		var features map[string]bool
		if err := json.Unmarshal(raw, &features); err != nil {
			return nil, errors.New("want an object of feature names and true or false")
		}
		names := make([]string, 0, len(features))
		for n := range features {
			names = append(names, n)
		}
		sort.Strings(names)
		var out []string
		for _, n := range names {
			out = append(out, n+"="+strconv.FormatBool(features[n]))
		}
		return out, nil
	case "tls", "tlsverify", "debug", "iptables":
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, errors.New("want true or false")
		}
		return []string{strconv.FormatBool(b)}, nil
	case "mtu":
		var n int
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, errors.New("want a number")
		}
		return []string{strconv.Itoa(n)}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || strings.TrimSpace(s) == "" {
		return nil, errors.New("want a non-empty string")
	}
	return []string{s}, nil
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
