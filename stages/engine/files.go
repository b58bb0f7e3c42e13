package engine

import (
	"os"
	"path/filepath"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/safefile"
)

// writeFiles writes the files a command reads (core.Command.Files), each
// whole or not at all, mode 0600, its directory made 0700 when missing (as
// the engine makes the containerd state directory it writes its own
// containerd's configuration in).
func writeFiles(files []core.File) error {
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f.Path), 0o700); err != nil {
			return errors.Wrapf(err, "make the directory of %s", f.Path)
		}
		if err := safefile.WriteFile(f.Path, f.Data, 0o600); err != nil {
			return errors.Wrapf(err, "write %s", f.Path)
		}
	}
	return nil
}
