package harness

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func withSuite(t *testing.T, suite string) {
	t.Helper()
	old := Suite
	Suite = suite
	t.Cleanup(func() { Suite = old })
}

func TestMakingCommandsOnTheMachinesEngineCarryTheLabels(t *testing.T) {
	withSuite(t, "e2e")
	labels := "--label org.dinv.test=e2e --label org.dinv.test.run=" + RunID()
	for _, c := range []struct{ args, want string }{
		{"run -d --name x img", "run " + labels + " -d --name x img"},
		{"run --rm img -h", "run " + labels + " --rm img -h"},
		{"create --name x img", "create " + labels + " --name x img"},
		{"container run img", "container run " + labels + " img"},
		{"container create img", "container create " + labels + " img"},
		{"volume create dinv-e2e-certs-1", "volume create " + labels + " dinv-e2e-certs-1"},
		{"network create --subnet 10.0.0.0/24 n", "network create " + labels + " --subnet 10.0.0.0/24 n"},
		// Nothing else: other commands, and a global option first (-H
		// may point anywhere).
		{"rm -f -v x", "rm -f -v x"},
		{"volume rm x", "volume rm x"},
		{"network ls", "network ls"},
		{"image inspect img", "image inspect img"},
		{"-H 10.0.0.2:2375 run img", "-H 10.0.0.2:2375 run img"},
		{"", ""},
	} {
		got := strings.Join(Client{}.args(strings.Fields(c.args)), " ")
		if got != c.want {
			t.Errorf("%q:\n got %q\nwant %q", c.args, got, c.want)
		}
	}
	// Another engine (a DinV host's) is not labelled: what is made there
	// goes with the DinV container.
	inner := Client{Host: "tcp://127.0.0.1:2375"}
	if got := strings.Join(inner.args([]string{"run", "img"}), " "); got != "run img" {
		t.Errorf("on another engine: %q, want no labels", got)
	}
	// The caller's slice is left as it was.
	args := []string{"run", "img"}
	labelled(args)
	if strings.Join(args, " ") != "run img" {
		t.Errorf("labelled changed its argument: %q", args)
	}
}

func TestLeftoversAreListedByTheSuitesLabelOnly(t *testing.T) {
	want := []string{
		`ps -a --filter label=org.dinv.test=bench --format {{.ID}} {{.Label "org.dinv.test.run"}}`,
		`network ls --filter label=org.dinv.test=bench --format {{.ID}} {{.Label "org.dinv.test.run"}}`,
		`volume ls --filter label=org.dinv.test=bench --format {{.Name}} {{.Label "org.dinv.test.run"}}`,
	}
	for i, k := range engineKinds {
		if got := strings.Join(k.listArgs("bench"), " "); got != want[i] {
			t.Errorf("%s:\n got %s\nwant %s", k.name, got, want[i])
		}
	}
}

// exitedRun is the RunID of a process that has exited.
func exitedRun(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	run := processRun(cmd.Process.Pid)
	cmd.Process.Kill()
	cmd.Wait()
	if run == "" {
		t.Fatal("no run ID for a started process")
	}
	return run
}

// runningRun is the RunID of a process that runs until the test ends.
func runningRun(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return processRun(cmd.Process.Pid)
}

func TestRunGoingTellsARunningProcessFromAnExitedOne(t *testing.T) {
	if going, why := RunGoing(RunID()); !going {
		t.Errorf("this process: not going (%s)", why)
	}
	if going, why := RunGoing(runningRun(t)); !going {
		t.Errorf("a running child: not going (%s)", why)
	}
	exited := exitedRun(t)
	if going, why := RunGoing(exited); going {
		t.Errorf("an exited child: going (%s)", why)
	}
	// The same PID started at another time is another process.
	f := strings.Split(RunID(), "/")
	if going, _ := RunGoing(strings.Join([]string{f[0], f[1], f[2], "1"}, "/")); going {
		t.Error("this PID with another start time: going")
	}
	// What cannot be checked is taken as going: its objects stay.
	if going, _ := RunGoing(strings.Join([]string{"otherboot", f[1], f[2], f[3]}, "/")); !going {
		t.Error("a run of another boot: not going")
	}
	if going, _ := RunGoing(strings.Join([]string{f[0], "4026531000", f[2], f[3]}, "/")); !going {
		t.Error("a run of another PID namespace: not going")
	}
	if going, _ := RunGoing(""); going {
		t.Error("no run: going")
	}
}

// fakeDocker puts a docker on PATH that logs its arguments to the returned
// file, one call a line, and answers the list commands with lists[kind].
func fakeDocker(t *testing.T, lists map[string]string) (log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "calls")
	for kind, out := range lists {
		if err := os.WriteFile(filepath.Join(dir, kind), []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `#!/bin/sh
echo "$*" >>` + log + `
case "$1 $2" in
"ps -a") cat ` + dir + `/container 2>/dev/null ;;
"network ls") cat ` + dir + `/network 2>/dev/null ;;
"volume ls") cat ` + dir + `/volume 2>/dev/null ;;
esac
`
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return log
}

func TestRemoveLeftoversRemovesWhatRunsThatAreOverLeft(t *testing.T) {
	withSuite(t, "e2e")
	over, going, own := exitedRun(t), runningRun(t), RunID()
	f := strings.Split(own, "/")
	elsewhere := strings.Join([]string{"otherboot", f[1], f[2], f[3]}, "/")
	log := fakeDocker(t, map[string]string{
		"container": "c-over " + over + "\nc-going " + going + "\nc-own " + own + "\nc-norun \nc-elsewhere " + elsewhere + "\n",
		"network":   "n-over " + over + "\nn-going " + going + "\n",
		"volume":    "v-own " + own + "\n",
	})
	l, err := RemoveLeftovers(context.Background(), "e2e", false)
	if err != nil {
		t.Fatal(err)
	}
	calls, _ := os.ReadFile(log)
	want := strings.Join([]string{
		engineKinds[0].cmdline("e2e"), "rm -f -v c-over c-norun",
		engineKinds[1].cmdline("e2e"), "network rm n-over",
		engineKinds[2].cmdline("e2e"),
	}, "\n") + "\n"
	if string(calls) != want {
		t.Errorf("docker calls:\n%s\nwant:\n%s", calls, want)
	}
	if len(l.Removed) != 3 || len(l.Kept) != 3 {
		t.Errorf("removed %q, kept %q: want 3 and 3", l.Removed, l.Kept)
	}

	// At the end of a run, its own objects go too.
	os.Remove(log)
	if _, err := RemoveLeftovers(context.Background(), "e2e", true); err != nil {
		t.Fatal(err)
	}
	calls, _ = os.ReadFile(log)
	if !strings.Contains(string(calls), "rm -f -v c-over c-own c-norun\n") || !strings.Contains(string(calls), "volume rm -f v-own\n") {
		t.Errorf("docker calls at the end of a run:\n%s", calls)
	}
}

func TestRemoveLeftoversFailsWhenTheEngineDoesNotAnswer(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "docker"), []byte("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n"), 0o755)
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	if _, err := RemoveLeftovers(context.Background(), "e2e", false); err == nil || !strings.Contains(err.Error(), "Cannot connect") {
		t.Errorf("err = %v, want the CLI's message", err)
	}
}

// cmdline is the list command as the fake docker logs it.
func (k engineKind) cmdline(suite string) string { return strings.Join(k.listArgs(suite), " ") }

func TestNamesPathMatchesWholePathsOnly(t *testing.T) {
	for _, c := range []struct {
		arg  string
		want bool
	}{
		{"/tmp/dinvit-12", true},
		{"/tmp/dinvit-12/d.sock", true},
		{"--data-root=/tmp/dinvit-12/data", true},
		{"unix:///tmp/dinvit-12/d.sock", true},
		{"/tmp/dinvit-123", false},
		{"/tmp/dinvit-123/x", false},
		{"/tmp/dinvit-123 /tmp/dinvit-12/x", true},
		{"/tmp/dinvit-1", false},
		{"", false},
	} {
		if got := NamesPath(c.arg, "/tmp/dinvit-12"); got != c.want {
			t.Errorf("NamesPath(%q) = %v, want %v", c.arg, got, c.want)
		}
	}
}

// A run killed half-way left a directory with a process started in it (and,
// as root, a mount under it); the next run's OpenHostRecord kills the
// process, detaches the mount, removes the directory and the record. A
// record of a run still going is kept whole.
func TestOpenHostRecordRemovesWhatAKilledRunLeft(t *testing.T) {
	HostRecords = t.TempDir()
	t.Cleanup(func() { HostRecords = filepath.Join(os.TempDir(), "dinv-test-host") })
	left, kept := t.TempDir(), t.TempDir()
	// sh names the directory in its arguments ($0), as dinv and dockerd do.
	sleeper := exec.Command("sh", "-c", "sleep 600; :", filepath.Join(left, "run"))
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	mounted := false
	if os.Geteuid() == 0 {
		m := filepath.Join(left, "mnt")
		os.Mkdir(m, 0o755)
		if err := syscall.Mount("tmpfs", m, "tmpfs", 0, "size=64k"); err == nil {
			mounted = true
			t.Cleanup(func() { syscall.Unmount(m, syscall.MNT_DETACH) })
		}
	}
	record := func(name, run string, objects ...string) string {
		d := filepath.Join(HostRecords, name)
		os.MkdirAll(d, 0o700)
		os.WriteFile(filepath.Join(d, "run"), []byte(run+"\n"), 0o600)
		os.WriteFile(filepath.Join(d, "objects"), []byte(strings.Join(objects, "\n")+"\n"), 0o600)
		return d
	}
	dead := record("unit-1-aa", exitedRun(t), "dir "+left, "bridge dinvunit-none", "netns dinv-unit-none")
	live := record("unit-2-bb", runningRun(t), "dir "+kept)
	other := record("unitother-3-cc", exitedRun(t), "dir "+kept)

	r, err := OpenHostRecord("unit")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sleeper.Wait() }()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("the process naming the directory: %v, want killed", err)
	}
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("the directory of the killed run is still there: %v", err)
	}
	if mounted {
		if b, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(b), left) {
			t.Error("the mount under it is still there")
		}
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Error("the killed run's record is still there")
	}
	for _, d := range []string{live, other, kept} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}

	// This run's record: what it lists is removed by Close, and reported.
	mine := t.TempDir()
	if err := r.Add(HostDir, mine); err != nil {
		t.Fatal(err)
	}
	found, err := r.Close()
	if err != nil || len(found) != 1 || found[0] != "directory "+mine {
		t.Errorf("Close() = %q, %v; want the directory reported", found, err)
	}
	if _, err := os.Stat(mine); !os.IsNotExist(err) {
		t.Error("Close left the recorded directory")
	}
	entries, _ := os.ReadDir(HostRecords)
	if len(entries) != 2 {
		t.Errorf("records left: %v, want the two of other runs", entries)
	}
}
