package pki

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/internal/safefile"
)

const (
	// journalFile lists, while a commit renames its temp files into place,
	// which temp file becomes which final file (names relative to the
	// certificate directory, as "server/cert.pem"). A run killed between two
	// renames leaves it behind, and the next start, under the lock, finishes
	// the renames (rolls forward) before anything reads the set: a commit is
	// then all or nothing, across files too.
	journalFile = ".dinv-commit"
	// journalHead and journalTail start and end a journal; one without
	// both was not written by dinv.
	journalHead = "dinv-commit 1"
	journalTail = "end"
	// maxJournalBytes bounds what dinv reads of a journal.
	maxJournalBytes = 64 << 10
)

// hasJournal reports whether dir holds a commit journal: a commit in
// progress, or one a killed run left half done.
func hasJournal(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, journalFile))
	return err == nil
}

// rollForward renames into place every temp file the journal lists that is
// still there, then removes the journal. Without a journal it does nothing.
func (osStore) rollForward(dir string, lay layout) error {
	path := filepath.Join(dir, journalFile)
	data, err := readJournal(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	renames, err := parseJournal(data, lay)
	if err != nil {
		return errors.Wrapf(err, "commit journal %s (not dinv's: remove it)", path)
	}
	var finals []string
	for _, r := range renames {
		if err := checkTemp(filepath.Join(dir, r[0])); err != nil {
			return err
		}
		err := os.Rename(filepath.Join(dir, r[0]), filepath.Join(dir, r[1]))
		if err != nil && !errors.Is(err, fs.ErrNotExist) { // ErrNotExist: renamed before the kill
			return errors.Wrapf(err, "roll forward into %s", r[1])
		}
		finals = append(finals, r[1])
	}
	if err := syncSubdirs(dir, finals); err != nil {
		return err
	}
	return finishJournal(dir)
}

// finishJournal makes the renames durable, then removes the journal.
func finishJournal(dir string) error {
	if err := syncDir(dir); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(dir, journalFile)); err != nil {
		return errors.Wrap(err, "remove commit journal")
	}
	return syncDir(dir)
}

// parseJournal reads a journal: the head, "temp final" lines, the tail.
// Only the layout's final names may appear in it, each with a temp file of
// dinv's in the same directory.
func parseJournal(data []byte, lay layout) ([][2]string, error) {
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) < 2 || lines[0] != journalHead || lines[len(lines)-1] != journalTail {
		return nil, errors.New("no head or tail line")
	}
	var out [][2]string
	for i, l := range lines[1 : len(lines)-1] {
		f := strings.Fields(l)
		if len(f) != 2 || !lay.isFile(f[1]) || filepath.Clean(f[0]) != f[0] || filepath.Dir(f[0]) != filepath.Dir(f[1]) ||
			!strings.HasPrefix(filepath.Base(f[0]), tempPrefix) {
			return nil, errors.Errorf("line %d: want a temp file and a certificate file name of the %s layout, got %q", i+2, lay.name, l)
		}
		out = append(out, [2]string{f[0], f[1]})
	}
	return out, nil
}

// readJournal reads the commit journal, dinv's own file: not through a
// link, not from a FIFO or device (neither is opened), at most
// maxJournalBytes.
func readJournal(path string) ([]byte, error) {
	data, err := safefile.ReadFile(path, maxJournalBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return data, errors.Wrap(err, "read commit journal")
}

// checkTemp refuses to roll forward a temp file that is not a regular file
// (a link planted under a temp name); a missing one was renamed already.
func checkTemp(path string) error {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().IsRegular() {
		return nil
	}
	return errors.Errorf("roll forward: %s is %s, not a file dinv wrote", path, safefile.Kind(fi.Mode()))
}
