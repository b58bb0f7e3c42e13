package harness

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Every container, volume and network a Client makes on the machine's engine
// carries two labels: LabelKey, whose value is the suite (Suite), and
// RunLabelKey, whose value names the test process that made it (RunID). A
// suite starting removes what earlier runs of the same suite left when they
// were killed, and nothing else: not another suite's objects, nor those of a
// run of the same suite that is still going (a developer's `make e2e` beside
// CI's, say).
//
//	docker ps -a --filter label=org.dinv.test          # everything the tests left
//	docker ps -a --filter label=org.dinv.test=e2e      # the end-to-end suite's
const (
	LabelKey    = "org.dinv.test"
	RunLabelKey = "org.dinv.test.run"
)

// Suite names the suite this process runs ("e2e", "reliability", "bench"):
// the value of LabelKey on what it makes. Each suite's TestMain sets it
// before anything else.
var Suite = "e2e"

// Labels are the docker options that label what this process makes.
func Labels() []string {
	return []string{"--label", LabelKey + "=" + Suite, "--label", RunLabelKey + "=" + RunID()}
}

// labelled inserts Labels after the subcommand of the docker commands that
// make a container, a volume or a network (run, create, container run,
// container create, volume create, network create); other commands, and any
// that starts with a global option such as -H, are returned as they are.
func labelled(args []string) []string {
	n := 0 // words of the subcommand
	switch {
	case len(args) >= 1 && (args[0] == "run" || args[0] == "create"):
		n = 1
	case len(args) >= 2 && args[0] == "container" && (args[1] == "run" || args[1] == "create"):
		n = 2
	case len(args) >= 2 && (args[0] == "volume" || args[0] == "network") && args[1] == "create":
		n = 2
	default:
		return args
	}
	out := make([]string, 0, len(args)+4)
	out = append(append(append(out, args[:n]...), Labels()...), args[n:]...)
	return out
}

// engineKind is one kind of object on the engine: how to list those of a
// suite and how to remove some.
type engineKind struct {
	name   string
	list   []string // followed by the label filter and the format
	idFmt  string   // the Go template of an object's ID or name
	remove []string // followed by the IDs
}

// engineKinds in the order of removal: containers first, which hold the
// networks and volumes.
var engineKinds = []engineKind{
	{"container", []string{"ps", "-a"}, "{{.ID}}", []string{"rm", "-f", "-v"}},
	{"network", []string{"network", "ls"}, "{{.ID}}", []string{"network", "rm"}},
	{"volume", []string{"volume", "ls"}, "{{.Name}}", []string{"volume", "rm", "-f"}},
}

// listArgs lists the objects of kind k labelled with suite, one a line: the
// ID (or name) and the run that made it.
func (k engineKind) listArgs(suite string) []string {
	return append(append([]string(nil), k.list...), "--filter", "label="+LabelKey+"="+suite,
		"--format", k.idFmt+` {{.Label "`+RunLabelKey+`"}}`)
}

// Leftovers is what RemoveLeftovers found.
type Leftovers struct {
	Removed []string // "container 1a2b3c (run ...)"
	Kept    []string // of runs that may still be going, with the reason
}

func (l Leftovers) String() string {
	var b strings.Builder
	for _, r := range l.Removed {
		fmt.Fprintf(&b, "removed %s\n", r)
	}
	for _, k := range l.Kept {
		fmt.Fprintf(&b, "kept %s\n", k)
	}
	return b.String()
}

// RemoveLeftovers removes from the machine's engine every container (with its
// anonymous volumes), network and volume labelled with suite whose run is
// over; with own, this process's too (at the end of a run: what a test's
// cleanup missed). Objects of a run that may still be going are kept.
func RemoveLeftovers(ctx context.Context, suite string, own bool) (Leftovers, error) {
	var l Leftovers
	c := Client{}
	for _, k := range engineKinds {
		r, err := c.Exec(ctx, nil, k.listArgs(suite)...)
		if err == nil && r.ExitCode != 0 {
			err = fmt.Errorf("%v", r)
		}
		if err != nil {
			return l, fmt.Errorf("list %ss of suite %s: %w", k.name, suite, err)
		}
		var ids []string
		for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
			id, run, _ := strings.Cut(strings.TrimSpace(line), " ")
			if id == "" {
				continue
			}
			what := fmt.Sprintf("%s %s (run %s)", k.name, id, run)
			if run == RunID() && !own {
				continue
			}
			if run != RunID() {
				if going, why := RunGoing(run); going {
					l.Kept = append(l.Kept, what+": "+why)
					continue
				}
			}
			ids = append(ids, id)
			l.Removed = append(l.Removed, what)
		}
		if len(ids) == 0 {
			continue
		}
		r, err = c.Exec(ctx, nil, append(append([]string(nil), k.remove...), ids...)...)
		if err == nil && r.ExitCode != 0 {
			err = fmt.Errorf("%v", r)
		}
		if err != nil {
			return l, fmt.Errorf("remove %ss of suite %s: %w", k.name, suite, err)
		}
	}
	return l, nil
}

// BeginSuite names the suite this process runs (Suite) and removes what
// killed runs of it left on the machine's engine, saying so on stderr. An
// engine that does not answer is only reported: the tests that need it fail
// on their own, with their own message.
func BeginSuite(suite string) {
	Suite = suite
	l, err := RemoveLeftovers(context.Background(), suite, false)
	if s := l.String(); s != "" {
		fmt.Fprintf(os.Stderr, "%s: leftovers of earlier runs on the engine:\n%s", suite, s)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: removing leftovers of earlier runs: %v\n", suite, err)
	}
}

// EndSuite removes whatever this run still has on the engine (a cleanup that
// failed) and reports it on stderr: false when there was any.
func EndSuite() bool {
	l, err := RemoveLeftovers(context.Background(), Suite, true)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: removing this run's leftovers: %v\n", Suite, err)
		return false
	}
	if len(l.Removed) > 0 {
		fmt.Fprintf(os.Stderr, "%s: the tests' cleanups left these on the engine (removed now):\n%s", Suite, l)
		return false
	}
	return true
}

var (
	runOnce sync.Once
	runID   string
)

// RunID names this test process: the boot, the PID namespace, the PID and the
// process's start time (clock ticks after boot), so that a later process with
// the same PID is not taken for it.
func RunID() string {
	runOnce.Do(func() { runID = processRun(os.Getpid()) })
	return runID
}

// processRun is the RunID of process pid ("" when it cannot be read).
func processRun(pid int) string {
	start, err := startTime(pid)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%s/%s/%d/%d", bootID(), pidNS(pid), pid, start)
}

// RunGoing tells whether the run named may still be going, and why. Only a
// run of this boot and PID namespace can be checked; any other is taken as
// going, and its objects are left alone.
func RunGoing(run string) (bool, string) {
	f := strings.Split(run, "/")
	if run == "" || len(f) != 4 {
		return false, "no run recorded"
	}
	if f[0] != bootID() || f[1] != pidNS(os.Getpid()) {
		return true, "made on another boot or in another PID namespace: cannot tell whether it is over"
	}
	pid, err := strconv.Atoi(f[2])
	if err != nil {
		return false, "bad run"
	}
	if processRun(pid) == run {
		return true, fmt.Sprintf("process %d is still running", pid)
	}
	return false, fmt.Sprintf("process %d is gone", pid)
}

// bootID is the kernel's boot ID without dashes.
func bootID() string {
	b, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return strings.ReplaceAll(strings.TrimSpace(string(b)), "-", "")
}

// pidNS is the inode of the PID namespace of pid.
func pidNS(pid int) string {
	l, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	return strings.TrimSuffix(strings.TrimPrefix(l, "pid:["), "]")
}

// startTime is field 22 of /proc/PID/stat: when the process started.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold anything.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	return strconv.ParseUint(f[19], 10, 64) // field 22 is the 20th after the name
}
