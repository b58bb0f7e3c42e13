package swarm

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dinv/dinv/core"
)

func TestWriteTokensKeepsTheDirectoryAndFilesToRoot(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(dir string) error
	}{
		{"a new directory is made 0700", func(string) error { return nil }},
		{"an existing directory open to all is made 0700", func(dir string) error { return os.Mkdir(dir, 0o777) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "swarm")
			if err := tc.make(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(dir); err == nil {
				if err := os.Chmod(dir, 0o777); err != nil {
					t.Fatal(err)
				}
			}
			wrote, err := writeTokens(dir, map[string]core.Secret{"manager": managerA, "worker": workerA})
			if err != nil || len(wrote) != 2 {
				t.Fatalf("writeTokens = %q, %v", wrote, err)
			}
			if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("directory mode %v (%v), want 0700", fi.Mode().Perm(), err)
			}
			for _, f := range wrote {
				if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("%s mode %v (%v), want 0600", f, fi.Mode().Perm(), err)
				}
			}
		})
	}
}
