package engine

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"sync"
)

// tailLines is how many of the engine's last stderr lines are kept.
const tailLines = 20

// maxLine bounds one kept line; the rest of a longer line is dropped.
const maxLine = 4096

// tail passes everything written to it through to out and keeps the last
// complete lines, for the error message of an engine that died at start-up.
type tail struct {
	out     io.Writer
	mu      sync.Mutex
	partial []byte
	lines   []string
	// status is the last "Status: ..." line: how dockerd's command-line
	// framework says why it refused its arguments, as it exits. The usage
	// it may print after it (28.x) is longer than the tail: kept apart.
	status string
}

func newTail(out io.Writer) *tail { return &tail{out: out} }

// Write passes p on to out; a failing out does not stop the line keeping.
func (t *tail) Write(p []byte) (int, error) {
	n := len(p)
	if t.out != nil {
		_, _ = t.out.Write(p)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			t.add(p)
			break
		}
		t.add(p[:i])
		t.flushLocked()
		p = p[i+1:]
	}
	return n, nil
}

func (t *tail) add(p []byte) {
	room := maxLine - len(t.partial)
	if room <= 0 {
		return
	}
	if len(p) > room {
		p = p[:room]
	}
	t.partial = append(t.partial, p...)
}

func (t *tail) flushLocked() {
	line := strings.TrimRight(string(t.partial), "\r")
	t.partial = t.partial[:0]
	if strings.TrimSpace(line) == "" {
		return
	}
	if strings.HasPrefix(line, statusPrefix) {
		t.status = line
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > tailLines {
		t.lines = t.lines[len(t.lines)-tailLines:]
	}
}

// Lines returns the kept lines, oldest first, with an unfinished last line.
func (t *tail) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]string(nil), t.lines...)
	if s := strings.TrimSpace(string(t.partial)); s != "" {
		out = append(out, s)
	}
	return out
}

// statusPrefix starts the line in which dockerd says why it refused its
// command line ("Status: unknown flag: --x"; the exit code follows on that
// line, or on the last one after the usage: ", Code: 125").
const statusPrefix = "Status: "

// LastError is the line that best says why the engine stopped: what it
// refused in its command line when it said so, else lastError's pick.
func (t *tail) LastError() string {
	t.mu.Lock()
	status := t.status
	t.mu.Unlock()
	if status != "" {
		return strings.TrimSpace(codeSuffix.ReplaceAllString(strings.TrimPrefix(status, statusPrefix), ""))
	}
	return lastError(t.Lines())
}

// codeSuffix is the exit code dockerd appends to its refusal.
var codeSuffix = regexp.MustCompile(`,? ?Code: [0-9]+$`)

// lastError picks the line that best says why the engine stopped: dockerd's
// fatal "failed to start daemon: ..." (whose cause may run on over lines, the
// last one as bare as "(exit status 3)"); else the last one logged at error
// level or above, or printed without a log level, but not the hint that
// follows a refused command line ("See 'dockerd --help'."); else the last line.
func lastError(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], fatalPrefix) {
			return lines[i]
		}
	}
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if isHelpHint(l) || codeSuffix.ReplaceAllString(strings.TrimSpace(l), "") == "" {
			continue
		}
		if !strings.Contains(l, "level=") || strings.Contains(l, "level=error") ||
			strings.Contains(l, "level=fatal") || strings.Contains(l, "level=panic") {
			return l
		}
	}
	if len(lines) > 0 {
		return lines[len(lines)-1]
	}
	return ""
}

// fatalPrefix starts the error dockerd (20.10 and later) prints as it exits.
const fatalPrefix = "failed to start daemon"

// isHelpHint reports whether l is the engine's pointer to its usage, printed
// after the line that names what it refused.
func isHelpHint(l string) bool {
	l = strings.TrimSpace(codeSuffix.ReplaceAllString(strings.TrimSpace(l), ""))
	return strings.HasPrefix(l, "See '") && strings.HasSuffix(strings.TrimSuffix(l, "."), "--help'")
}
