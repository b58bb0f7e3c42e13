// Package configtest resolves configurations for tests, through the same
// resolution a start uses (internal/config), from a bare /dinv's flags.
package configtest

import (
	"context"
	"reflect"
	"testing"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/config"
)

// Resolve returns the configuration of a /dinv whose flags are the defaults
// changed by set (nil: none; a flag whose value set changes counts as
// given), with env (nil: empty), the engine arguments args and no
// daemon.json. A usage error fails the test.
func Resolve(t testing.TB, set func(*config.Flags), env map[string]string, args ...string) core.Config {
	t.Helper()
	cfg, err := Try(set, env, args...)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	return *cfg
}

// Try is Resolve's resolution, with its error.
func Try(set func(*config.Flags), env map[string]string, args ...string) (*core.Config, error) {
	return TryFile(set, env, nil, args...)
}

// TryFile is Try with daemonJSON as the engine's daemon.json (nil: none).
func TryFile(set func(*config.Flags), env map[string]string, daemonJSON []byte, args ...string) (*core.Config, error) {
	f := config.DefaultFlags()
	if set != nil {
		set(&f)
	}
	f.Given = given(config.DefaultFlags(), f)
	cfg, _, err := config.Resolve(context.Background(), config.Inputs{
		Flags:    f,
		Env:      func(k string) string { return env[k] },
		Engine:   args,
		ReadFile: func(context.Context, string) ([]byte, error) { return daemonJSON, nil },
	})
	return cfg, err
}

// given names the flags whose values differ between def and f.
func given(def, f config.Flags) map[string]bool {
	out := map[string]bool{}
	dv, fv := reflect.ValueOf(def), reflect.ValueOf(f)
	for i := 0; i < dv.NumField(); i++ {
		name := dv.Type().Field(i).Tag.Get("flag")
		if name != "" && !reflect.DeepEqual(dv.Field(i).Interface(), fv.Field(i).Interface()) {
			out[name] = true
		}
	}
	return out
}

// TryExact resolves `dinv dockerd ARGS` with env (nil: empty).
func TryExact(env map[string]string, args ...string) (*core.Config, error) {
	f := config.DefaultFlags()
	f.Given = map[string]bool{}
	cfg, _, err := config.Resolve(context.Background(), config.Inputs{
		Flags:    f,
		Env:      func(k string) string { return env[k] },
		Engine:   args,
		Exact:    true,
		ReadFile: func(context.Context, string) ([]byte, error) { return nil, nil },
	})
	return cfg, err
}

// Profile returns the engine profile of version, failing the test when there
// is none.
func Profile(t testing.TB, version string) *core.Profile {
	t.Helper()
	p, err := core.FindProfile(version)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
