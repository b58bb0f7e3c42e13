//go:build reliability

// Package reliability is DinV's reliability and security suite (`make
// reliability`, after `make images`): bad input refused clearly with nothing
// changed, faults survived on real DinV containers with real engines, and
// attacks on the API refused. It prints the figures of the run at the end.
//
// The image under test is dinv:latest, or RELIABILITY_IMAGE. The figures are
// printed at the end and written to RELIABILITY_FIGURES (default
// $TMPDIR/dinv-reliability-figures.md). Every container,
// volume and network it makes is named dinv-rel-*, labelled
// org.dinv.test=reliability and removed when its test ends.
package reliability

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// image is the DinV image the container cases run.
func image(t testing.TB) string {
	t.Helper()
	img := os.Getenv("RELIABILITY_IMAGE")
	if img == "" {
		img = "dinv:latest"
	}
	if r := (harness.Client{}).Try(t, "image", "inspect", img); r.ExitCode != 0 {
		t.Fatalf("image %s missing: run `make images`", img)
	}
	return img
}

const busybox = "dinv-test-busybox" // images/testimages.sh

// suite holds the dinv binary built from this tree for the host cases and
// the record of what they make outside the engine (directories with the dinv
// and engine processes started in them, bridges), so that the next run
// removes what a killed one left.
var suite *harness.HostSuite

// TestMain removes what killed runs of this suite left (on the engine: what
// carries org.dinv.test=reliability; on the host: what their host record
// lists), builds dinv, runs the tests, removes what a test's cleanup missed
// (which fails the run) and prints the figures.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	harness.Prefix = "dinv-rel-"
	harness.BeginSuite("reliability")
	var err error
	if suite, err = harness.OpenHostSuite("reliability"); err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		return 1
	}
	code := runSuite(m)
	if !suite.Close() {
		code = max(code, 1)
	}
	if !harness.EndSuite() {
		code = max(code, 1)
	}
	return code
}

func runSuite(m *testing.M) int {
	start := time.Now()
	code := m.Run()
	// go test shows a passing package's output only with -v: the figures
	// also go to a file (RELIABILITY_FIGURES, default in the temp dir).
	out := os.Getenv("RELIABILITY_FIGURES")
	if out == "" {
		out = filepath.Join(os.TempDir(), "dinv-reliability-figures.md")
	}
	var buf strings.Builder
	figures.print(&buf, time.Since(start))
	fmt.Print(buf.String())
	if err := os.WriteFile(out, []byte(buf.String()), 0o644); err == nil {
		fmt.Printf("\nfigures written to %s\n", out)
	}
	return code
}

// record collects the figures of the run: cases by kind with their outcome,
// and named durations.
type record struct {
	mu    sync.Mutex
	cases map[string][]caseResult
	times map[string][]time.Duration
	notes []string
}

type caseResult struct {
	name    string
	passed  bool
	skipped bool // did not apply here (its test says why)
}

var figures = &record{cases: map[string][]caseResult{}, times: map[string][]time.Duration{}}

// Case counts t as one case of kind; its outcome is read when t ends.
func (r *record) Case(t *testing.T, kind string) {
	t.Cleanup(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.cases[kind] = append(r.cases[kind], caseResult{name: t.Name(), passed: !t.Failed() && !t.Skipped(), skipped: t.Skipped() && !t.Failed()})
	})
}

// Time records one measurement of what.
func (r *record) Time(what string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.times[what] = append(r.times[what], d)
}

// Note records one line for the report.
func (r *record) Note(format string, args ...interface{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func (r *record) print(w io.Writer, total time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(w, "\n## Reliability figures (%s, total %.0f s)\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), total.Seconds())
	fmt.Fprintln(w, "| kind | cases | passed | failed | skipped |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	kinds := make([]string, 0, len(r.cases))
	for k := range r.cases {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var failed []string
	for _, k := range kinds {
		pass, skip := 0, 0
		for _, c := range r.cases[k] {
			switch {
			case c.passed:
				pass++
			case c.skipped:
				skip++
			default:
				failed = append(failed, c.name)
			}
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d |\n", k, len(r.cases[k]), pass, len(r.cases[k])-pass-skip, skip)
	}
	if len(r.times) > 0 {
		fmt.Fprintln(w, "\n| measured | n | median | min | max |")
		fmt.Fprintln(w, "|---|---|---|---|---|")
		names := make([]string, 0, len(r.times))
		for n := range r.times {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ds := append([]time.Duration(nil), r.times[n]...)
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
			fmt.Fprintf(w, "| %s | %d | %s | %s | %s |\n", n, len(ds), secs(ds[len(ds)/2]), secs(ds[0]), secs(ds[len(ds)-1]))
		}
	}
	for _, n := range r.notes {
		fmt.Fprintln(w, "- "+n)
	}
	for _, k := range kinds {
		fmt.Fprintf(w, "\n| %s | result |\n|---|---|\n", k)
		for _, c := range r.cases[k] {
			result := "pass"
			switch {
			case c.skipped:
				result = "skipped"
			case !c.passed:
				result = "**FAIL**"
			}
			fmt.Fprintf(w, "| %s | %s |\n", strings.ReplaceAll(c.name, "_", " "), result)
		}
	}
	if len(failed) > 0 {
		fmt.Fprintln(w, "\nfailed: "+strings.Join(failed, ", "))
	}
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
