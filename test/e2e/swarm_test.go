//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// swarmWait bounds one step of the swarm tests: a swarm forming, a service
// converging, a host rejoining.
const swarmWait = 3 * time.Minute

// callWait bounds one docker call of a poll: a manager without a leader
// must not hold the poll past swarmWait.
const callWait = 30 * time.Second

// TestSwarm proves the swarm flags: five DinV hosts of one image, started with
// one docker run each and no docker exec, form a swarm of three managers and
// two workers that runs a DNS round-robin service on all five, carries an
// overlay network between hosts and publishes a host-mode port on each; it
// keeps quorum and its replicas when a manager stops, takes the manager back,
// and comes back whole when all five are removed and run again on their
// volumes. Beside it, the faults: a wrong token, an address that is not a
// manager, no manager at all, a host already in another swarm, bad flags.
// The newest engine first.
func TestSwarm(t *testing.T) {
	requireTestImages(t)
	images := dinvImages(t)
	sort.SliceStable(images, func(i, j int) bool { return versionLess(images[j], images[i]) })
	for _, image := range images {
		t.Run(image, func(t *testing.T) {
			start := time.Now()
			t.Cleanup(func() { t.Logf("%s: swarm tests took %.1f s", image, time.Since(start).Seconds()) })
			t.Run("bad input", func(t *testing.T) { t.Parallel(); testSwarmBadInput(t, image) })
			t.Run("faults", func(t *testing.T) { t.Parallel(); testSwarmFaults(t, image) })
			t.Run("five hosts", func(t *testing.T) { t.Parallel(); testSwarmFive(t, image) })
		})
	}
}

// swarmHost is one DinV host of a test swarm.
type swarmHost struct {
	short string // m1: its hostname, network alias and swarm node name
	ip    string // fixed: managers keep their address across restarts
	opts  harness.Options
	d     *harness.DinV
}

// api is the docker CLI against the host's engine, from this machine.
func (h *swarmHost) api() harness.Client { return harness.Client{Host: "tcp://" + h.ip + ":2375"} }

// run starts the host's container: one docker run.
func (h *swarmHost) run(t *testing.T) { h.d = harness.Start(t, h.opts) }

// newSwarmHost describes a host on network with its own data volume; run
// are extra docker run options.
func newSwarmHost(t *testing.T, image, network, short, ip string, args []string, run ...string) *swarmHost {
	data := harness.Volume(t, "swarm-data-"+short)
	run = append([]string{"--network", network, "--ip", ip, "--network-alias", short, "--hostname", short,
		"-v", data + ":/var/lib/docker"}, run...)
	return &swarmHost{short: short, ip: ip,
		opts: harness.Options{Image: image, Name: harness.Name("swarm-" + short), Run: run, Args: args}}
}

func testSwarmFive(t *testing.T, image string) {
	network, prefix := harness.SubnetNetwork(t, "swarm")
	certs := harness.Volume(t, "swarm-certs") // shared: the tokens go through it
	shared := []string{"-v", certs + ":/certs"}
	debug := append([]string{"-e", "DEBUG=true"}, shared...)
	hosts := []*swarmHost{
		newSwarmHost(t, image, network, "m1", prefix+"11", []string{"-swarm-init"}, debug...),
		newSwarmHost(t, image, network, "m2", prefix+"12", []string{"-swarm-join", "m1", "-swarm-role", "manager"}, shared...),
		newSwarmHost(t, image, network, "m3", prefix+"13", []string{"-swarm-join", "m1", "-swarm-role", "manager"}, shared...),
		newSwarmHost(t, image, network, "w1", prefix+"21", []string{"-swarm-join", prefix + "11"}, debug...),
		newSwarmHost(t, image, network, "w2", prefix+"22", []string{"-swarm-join", "m1:2377", "-swarm-role", "worker"}, shared...),
	}
	m1, m2 := hosts[0], hosts[1]
	all := map[string]bool{"m1": true, "m2": true, "m3": true, "w1": true, "w2": true}

	start := time.Now()
	for _, h := range hosts {
		h.run(t)
	}
	waitNodes(t, m1, hosts, "all five hosts Ready", func(n map[string]node) string { return allReady(n, all) })
	t.Logf("%s: all five Ready in docker node ls %.1f s after the first docker run", image, time.Since(start).Seconds())
	managers := nodeList(t, m1)
	for short := range all {
		if isManager := managers[short].manager != ""; isManager != strings.HasPrefix(short, "m") {
			t.Errorf("%s: manager status %q", short, managers[short].manager)
		}
	}
	checkTokenFiles(t, image, certs, m1)
	// Nodes report every second instead of every 5 s: a stopped node is
	// found down (and its tasks rescheduled) in seconds, not half a minute.
	m1.api().Run(t, "swarm", "update", "--dispatcher-heartbeat", "1s")
	firstLogs := map[string]string{}

	t.Run("a dnsrr service spreads over all five hosts, an overlay network carries its traffic, a host-mode port answers on each", func(t *testing.T) {
		for _, h := range hosts {
			harness.Load(t, h.api(), busybox)
		}
		c := m1.api()
		c.Run(t, "network", "create", "--driver", "overlay", "e2e-overlay")
		// Each task serves its own hostname; sh as PID 1 ends on SIGTERM.
		serve := `hostname >/tmp/index.html; trap "exit 0" TERM; httpd -f -p 80 -h /tmp & wait`
		common := []string{"service", "create", "--detach", "--no-resolve-image", "--endpoint-mode", "dnsrr", "--stop-grace-period", "2s"}
		c.Run(t, append(common, "--name", "web", "--replicas", "5", "--network", "e2e-overlay",
			"--hostname", "{{.Node.Hostname}}-web", busybox, "sh", "-c", serve)...)
		c.Run(t, append(common, "--name", "edge", "--mode", "global", "--publish", "mode=host,target=80,published=8080",
			"--hostname", "{{.Node.Hostname}}-edge", busybox, "sh", "-c", serve)...)

		waitTasks(t, m1, hosts, "web", "five web tasks, one on each host", func(on map[string]int) string {
			return onEach(on, all, 1)
		})
		checkOverlay(t, m1, all)
		waitEdges(t, hosts)
	})
	if t.Failed() {
		return
	}

	t.Run("a manager stopped: quorum kept, five replicas rescheduled, the manager rejoins by itself", func(t *testing.T) {
		// Quorum is kept only if the two others are healthy members of
		// the managers' raft group, the only ones besides m1.
		waitNodes(t, m1, hosts, "m2 and m3 reachable managers, the raft group three", func(n map[string]node) string {
			for _, short := range []string{"m2", "m3"} {
				if m := n[short].manager; m != "Reachable" && m != "Leader" {
					return fmt.Sprintf("%s manager status %q (nodes %v)", short, m, n)
				}
			}
			if r := m1.api().Try(t, "info", "--format", "{{len .Swarm.RemoteManagers}}"); strings.TrimSpace(r.Stdout) != "3" {
				return "raft group: " + r.String()
			}
			return allReady(n, all)
		})
		harness.Client{}.Run(t, "stop", "-t", "30", m1.d.Name)
		rest := map[string]bool{"m2": true, "m3": true, "w1": true, "w2": true}
		waitNodes(t, m2, hosts[1:], "m1 Down, a new leader, the others Ready", func(n map[string]node) string {
			if n["m1"].status != "Down" {
				return fmt.Sprintf("m1 is %q", n["m1"].status)
			}
			if n["m2"].manager != "Leader" && n["m3"].manager != "Leader" {
				return "no leader among m2 and m3"
			}
			return allReady(without(n, "m1"), rest)
		})
		waitTasks(t, m2, hosts[1:], "web", "five web tasks on the four hosts left", func(on map[string]int) string {
			if total(on) != 5 || on["m1"] != 0 {
				return fmt.Sprintf("tasks running %v", on)
			}
			return ""
		})
		m1.d.Start(t)
		waitNodes(t, m2, hosts, "m1 back, Ready and a manager", func(n map[string]node) string {
			if m := n["m1"].manager; m != "Reachable" && m != "Leader" {
				return fmt.Sprintf("m1 manager status %q", m)
			}
			return allReady(n, all)
		})
		logs := waitLog(t, m1.d, alreadyManages, stillReaching)
		if strings.Count(logs, "swarm created") != 1 {
			t.Errorf("m1 created a swarm again:\n%s", dinvLines(logs))
		}
	})
	if t.Failed() {
		return
	}

	t.Run("all five removed and run again on their volumes: the same swarm, nothing joined, the services there", func(t *testing.T) {
		c := m1.api()
		cluster := c.Run(t, "info", "--format", "{{.Swarm.Cluster.ID}}")
		ids := sortedLines(c.Run(t, "node", "ls", "-q"))
		for _, h := range hosts {
			firstLogs[h.short] = h.d.Logs(t)
		}
		stopAll(t, hosts)
		for _, h := range hosts {
			h.d.Remove(t)
		}
		start := time.Now()
		for _, h := range hosts {
			h.run(t) // removed when this step ends
		}
		waitNodes(t, m1, hosts, "all five hosts Ready again", func(n map[string]node) string { return allReady(n, all) })
		t.Logf("%s: all five Ready again %.1f s after the first docker run on the old volumes", image, time.Since(start).Seconds())
		if got := c.Run(t, "info", "--format", "{{.Swarm.Cluster.ID}}"); got != cluster {
			t.Errorf("swarm %s, was %s", got, cluster)
		}
		if got := sortedLines(c.Run(t, "node", "ls", "-q")); got != ids {
			t.Errorf("nodes\n%s\nwere\n%s", got, ids)
		}
		for _, h := range hosts {
			want := alreadyMember
			if h == m1 {
				want = alreadyManages
			}
			// A manager whose engine answered before its swarm had a
			// leader again (all of them starting at once) says so instead.
			logs := waitLog(t, h.d, want, stillReaching)
			for _, never := range []string{"joined the swarm", "swarm created", "join tokens written"} {
				if strings.Contains(logs, never) {
					t.Errorf("%s: %q after the restart:\n%s", h.short, never, dinvLines(logs))
				}
			}
		}
		waitTasks(t, m1, hosts, "web", "five web tasks running", func(on map[string]int) string {
			if total(on) != 5 {
				return fmt.Sprintf("tasks running %v", on)
			}
			return ""
		})
		waitEdges(t, hosts)

		// Here, while the hosts this step ran live (they go with its end).
		t.Run("no token in any log, even with DEBUG=true; the IPVS note once per start", func(t *testing.T) {
			checkLogs(t, hosts, firstLogs)
		})
	})
}

// checkLogs: no join token in any host's log, of this run (firstLogs)
// or the one before; the IPVS note once per start.
func checkLogs(t *testing.T, hosts []*swarmHost, firstLogs map[string]string) {
	t.Helper()
	m1 := hosts[0]
	c := m1.api()
	tokens := []string{c.Run(t, "swarm", "join-token", "-q", "worker"), c.Run(t, "swarm", "join-token", "-q", "manager")}
	_, ipvsErr := os.Stat("/proc/net/ip_vs")
	for _, h := range hosts {
		logs := firstLogs[h.short] + h.d.Logs(t)
		for _, tok := range tokens {
			if tok != "" && strings.Contains(logs, tok[len(tok)-25:]) {
				t.Errorf("%s: a join token's secret in its log", h.short)
			}
		}
		starts, ready := strings.Count(logs, "dinv.swarm: start"), strings.Count(logs, "dinv.ready: engine ready")
		if notes := strings.Count(logs, "this kernel has no IPVS"); ipvsErr != nil && notes != ready || ipvsErr == nil && notes != 0 {
			t.Errorf("%s: the IPVS note %d times for %d starts", h.short, notes, ready)
		}
		if (h == m1 || h.short == "w1") && starts == 0 { // the DEBUG=true hosts
			t.Errorf("%s: no debug line of the swarm stage: the check proves nothing", h.short)
		}
	}
}

// checkTokenFiles: the shared directory holds the swarm's two tokens, 0600,
// in a 0700 directory, read through a container of the image (no exec).
func checkTokenFiles(t *testing.T, image, certs string, m1 *swarmHost) {
	t.Helper()
	out := harness.Client{}.Run(t, "run", "--rm", "--entrypoint", "sh", "-v", certs+":/certs", image, "-c",
		`stat -c '%a %n' /certs/swarm /certs/swarm/*; cat /certs/swarm/manager.token /certs/swarm/worker.token`)
	lines := strings.Split(out, "\n")
	want := []string{"700 /certs/swarm", "600 /certs/swarm/manager.token", "600 /certs/swarm/worker.token"}
	if len(lines) != 5 || strings.Join(lines[:3], "\n") != strings.Join(want, "\n") {
		t.Fatalf("token files: %d lines, modes %q, want %q", len(lines), lines[:min(3, len(lines))], want)
	}
	c := m1.api()
	if lines[3] != c.Run(t, "swarm", "join-token", "-q", "manager") || lines[4] != c.Run(t, "swarm", "join-token", "-q", "worker") {
		t.Error("the token files do not hold the swarm's join tokens")
	}
}

// node is one line of docker node ls.
type node struct{ status, manager string }

// nodeList is docker node ls on h, by hostname; nil when it fails (no
// leader yet, say). A hostname listed twice (a node left behind by a join
// that failed half-way) is kept under "twice:HOSTNAME", so that no check
// of five nodes passes.
func nodeList(t *testing.T, h *swarmHost) map[string]node {
	ctx, cancel := context.WithTimeout(context.Background(), callWait)
	defer cancel()
	r, err := h.api().Exec(ctx, nil, "node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.ManagerStatus}}")
	if err != nil || r.ExitCode != 0 {
		return nil
	}
	n := map[string]node{}
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		f := append(strings.Fields(line), "", "")
		if _, twice := n[f[0]]; twice {
			f[0] = "twice:" + f[0]
		}
		n[f[0]] = node{f[1], f[2]}
	}
	return n
}

// allReady says what keeps the nodes from being exactly want, all Ready.
func allReady(n map[string]node, want map[string]bool) string {
	if len(n) != len(want) {
		return fmt.Sprintf("nodes %v", n)
	}
	for short := range want {
		if n[short].status != "Ready" {
			return fmt.Sprintf("%s is %q (nodes %v)", short, n[short].status, n)
		}
	}
	return ""
}

func without(n map[string]node, short string) map[string]node {
	c := map[string]node{}
	for k, v := range n {
		if k != short {
			c[k] = v
		}
	}
	return c
}

// waitNodes polls docker node ls on h until check says nothing.
func waitNodes(t *testing.T, h *swarmHost, hosts []*swarmHost, what string, check func(map[string]node) string) {
	t.Helper()
	poll(t, hosts, what, func() string {
		n := nodeList(t, h)
		if n == nil {
			return h.short + " does not list the nodes"
		}
		return check(n)
	})
}

// tasksOn is where service's tasks run (Running), by node hostname.
func tasksOn(t *testing.T, h *swarmHost, service string) map[string]int {
	ctx, cancel := context.WithTimeout(context.Background(), callWait)
	defer cancel()
	r, err := h.api().Exec(ctx, nil, "service", "ps", "--filter", "desired-state=running",
		"--format", "{{.Node}} {{.CurrentState}}", service)
	if err != nil || r.ExitCode != 0 {
		return nil
	}
	on := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[1] == "Running" {
			on[f[0]]++
		}
	}
	return on
}

func waitTasks(t *testing.T, h *swarmHost, hosts []*swarmHost, service, what string, check func(map[string]int) string) {
	t.Helper()
	poll(t, hosts, what, func() string {
		on := tasksOn(t, h, service)
		if on == nil {
			return h.short + " does not list the tasks"
		}
		return check(on)
	})
}

func onEach(on map[string]int, want map[string]bool, n int) string {
	for short := range want {
		if on[short] != n {
			return fmt.Sprintf("tasks running %v", on)
		}
	}
	if total(on) != n*len(want) {
		return fmt.Sprintf("tasks running %v", on)
	}
	return ""
}

func total(on map[string]int) int {
	n := 0
	for _, c := range on {
		n += c
	}
	return n
}

var ipv4 = regexp.MustCompile(`\b\d+\.\d+\.\d+\.\d+\b`)

// checkOverlay: from the web task on m1, tasks.web resolves to the five
// tasks' overlay addresses, and each answers with its hostname: traffic
// from m1 to the tasks on the four other hosts.
func checkOverlay(t *testing.T, m1 *swarmHost, want map[string]bool) {
	t.Helper()
	c := m1.api()
	task := c.Run(t, "ps", "-q", "--filter", "label=com.docker.swarm.service.name=web")
	if strings.Count(task, "\n") != 0 || task == "" {
		t.Fatalf("web tasks on m1: %q", task)
	}
	var addrs []string
	poll(t, nil, "tasks.web resolving to five addresses", func() string {
		r := c.Try(t, "exec", task, "nslookup", "tasks.web")
		addrs = nil
		for _, a := range ipv4.FindAllString(r.Stdout, -1) {
			if !strings.HasPrefix(a, "127.") {
				addrs = append(addrs, a)
			}
		}
		if len(addrs) != 5 {
			return fmt.Sprintf("%v\n%s", addrs, r)
		}
		return ""
	})
	reached := map[string]bool{}
	for _, a := range addrs {
		var body string
		poll(t, nil, "web task "+a+" answering over the overlay", func() string {
			// Not wget -T: this busybox's wget dies of SIGSEGV with it.
			r := c.Try(t, "exec", task, "timeout", "5", "wget", "-qO-", "http://"+a+"/")
			body = strings.TrimSpace(r.Stdout)
			if r.ExitCode != 0 {
				return r.String()
			}
			return ""
		})
		reached[strings.TrimSuffix(body, "-web")] = true
	}
	for short := range want {
		if !reached[short] {
			t.Errorf("no web task on %s reached from m1 (reached %v)", short, reached)
		}
	}
}

// waitEdges: the edge service's host-mode port 8080 answers on every host's
// own address with that host's task.
func waitEdges(t *testing.T, hosts []*swarmHost) {
	t.Helper()
	hc := harness.HTTPClient(nil, 2*time.Second)
	for _, h := range hosts {
		poll(t, hosts, "port 8080 answering on "+h.short, func() string {
			code, body, err := harness.Get(context.Background(), hc, "http://"+h.ip+":8080/")
			if err != nil || code != 200 || strings.TrimSpace(body) != h.short+"-edge" {
				return fmt.Sprintf("%d %q %v", code, body, err)
			}
			return ""
		})
	}
}

// stopAll stops the hosts' containers at once, each given 30 s.
func stopAll(t *testing.T, hosts []*swarmHost) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(hosts))
	for i, h := range hosts {
		wg.Add(1)
		go func(i int, name string) {
			defer wg.Done()
			r, err := harness.Client{}.Exec(context.Background(), nil, "stop", "-t", "30", name)
			if err == nil && r.ExitCode != 0 {
				err = fmt.Errorf("%s", r)
			}
			errs[i] = err
		}(i, h.d.Name)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// poll calls check every 250 ms until it says nothing, and fails the test
// after swarmWait, or at once when one of hosts has stopped, with what check
// said along the way (each change, and when).
func poll(t *testing.T, hosts []*swarmHost, what string, check func() string) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(swarmWait)
	var said []string
	last := ""
	for i := 0; ; i++ {
		msg := check()
		if msg == "" {
			if d := time.Since(start); d > 10*time.Second && len(said) > 0 {
				t.Logf("%s: %.1f s; on the way:\n%s", what, d.Seconds(), strings.Join(said, "\n"))
			} else if d > time.Second {
				t.Logf("%s: %.1f s", what, d.Seconds())
			}
			return
		}
		if msg != last && len(said) < 40 {
			said = append(said, fmt.Sprintf("%6.1f s: %s", time.Since(start).Seconds(), msg))
		}
		last = msg
		if i%8 == 7 {
			if down := stopped(t, hosts); down != "" {
				t.Fatalf("%s: %s stopped; it said:\n%s\nlast: %s", what, down, strings.Join(said, "\n"), msg)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; it said:\n%s\nlast: %s", what, swarmWait, strings.Join(said, "\n"), msg)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// stopped names the hosts whose container is not running, "" when all run.
func stopped(t *testing.T, hosts []*swarmHost) string {
	var down []string
	for _, h := range hosts {
		if h.d == nil {
			continue
		}
		if s := h.d.Inspect(t, "{{.State.Status}} {{.State.ExitCode}}"); !strings.HasPrefix(s, "running") {
			down = append(down, h.short+" ("+s+")")
		}
	}
	return strings.Join(down, ", ")
}

// What the swarm stage of a host restarted on its volumes says.
const (
	alreadyManages = "dinv.swarm: already manages a swarm: nothing to create"
	alreadyMember  = "dinv.swarm: already a member of the swarm: nothing to join"
	stillReaching  = "dinv.swarm: already in a swarm, still reaching its managers: nothing to join or create"
)

// waitLog returns the container's log once it holds one of want, failing
// the test after swarmWait.
func waitLog(t *testing.T, d *harness.DinV, want ...string) string {
	t.Helper()
	var logs string
	poll(t, nil, d.Name+" logging "+strings.Join(want, " or "), func() string {
		logs = d.Logs(t)
		for _, w := range want {
			if strings.Contains(logs, w) {
				return ""
			}
		}
		return "not yet"
	})
	return logs
}

// dinvLines are dinv's own lines of a log, without the engine's.
func dinvLines(logs string) string {
	var keep []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, " dinv") && !strings.HasPrefix(l, "time=") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func sortedLines(s string) string {
	lines := strings.Fields(s)
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// The faults: each host runs one docker run, fails on one line with exit 1,
// its engine stopped cleanly, and leaves no swarm state behind.
func testSwarmFaults(t *testing.T, image string) {
	network, prefix := harness.SubnetNetwork(t, "swarm-faults")
	mgr := newSwarmHost(t, image, network, "f1", prefix+"11", []string{"-swarm-init"})
	mgr.run(t)
	// Another swarm's host: its first life makes a swarm of its own.
	other := newSwarmHost(t, image, network, "x1", prefix+"31", []string{"-swarm-init"})
	other.run(t)
	waitLog(t, mgr.d, "swarm created")
	waitLog(t, other.d, "swarm created")
	other.d.Remove(t)
	token := mgr.api().Run(t, "swarm", "join-token", "-q", "worker")
	wrong := token[:len(token)-25] + strings.Repeat("0", 25) // well formed, not the secret

	env := func(tok string) []string { return []string{"-e", "DINV_SWARM_TOKEN=" + tok} }
	cases := []struct {
		name string
		host *swarmHost
		want string
	}{
		{"a wrong token",
			newSwarmHost(t, image, network, "wrong", prefix+"41", []string{"-swarm-join", mgr.ip}, env(wrong)...),
			"the manager at " + mgr.ip + ":2377 refused the worker join token (DINV_SWARM_TOKEN): it is not valid in that swarm"},
		{"an address that is not a manager (the API port)",
			newSwarmHost(t, image, network, "notmgr", prefix+"42", []string{"-swarm-join", mgr.ip + ":2375"}, env(token)...),
			mgr.ip + ":2375 is not a swarm manager: it does not answer with the swarm's TLS there"},
		{"no manager at the address within -swarm-timeout",
			newSwarmHost(t, image, network, "nobody", prefix+"43", []string{"-swarm-join", prefix + "250", "-swarm-timeout", "3s"}, env(token)...),
			"no swarm manager answered at " + prefix + "250:2377 within 3s"},
		{"a host already in another swarm",
			&swarmHost{short: "x1", ip: other.ip, opts: harness.Options{Image: image, Name: harness.Name("swarm-x1-again"),
				Run:  append(append([]string(nil), other.opts.Run...), env(token)...),
				Args: []string{"-swarm-join", mgr.ip}}},
			"this host is already in another swarm"},
	}
	for _, tc := range cases {
		tc.host.run(t)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.host.d
			poll(t, nil, d.Name+" exiting", func() string {
				if s := d.Inspect(t, "{{.State.Status}}"); s != "exited" {
					return s
				}
				return ""
			})
			if code := d.Inspect(t, "{{.State.ExitCode}}"); code != "1" {
				t.Errorf("exit code %s, want 1", code)
			}
			logs := d.Logs(t)
			for _, want := range []string{
				`[ERROR] dinv: start-up failed: error="stage swarm: ` + tc.want,
				`[INFO]  dinv: exiting: reason="start-up failed; engine stopped" code=1`,
				"Daemon shutdown complete",
			} {
				if !strings.Contains(logs, want) {
					t.Errorf("log lacks %q:\n%s", want, dinvLines(logs))
				}
			}
			if n := strings.Count(logs, "[ERROR]"); n != 1 {
				t.Errorf("%d error lines, want one:\n%s", n, dinvLines(logs))
			}
			if strings.Contains(logs, token[len(token)-25:]) || strings.Contains(logs, wrong[len(wrong)-25:]) {
				t.Error("a token's secret in the log")
			}
		})
	}
	t.Run("the failed joins left no node behind, nor swarm state on the wrong token's volume", func(t *testing.T) {
		if ids := strings.Fields(mgr.api().Run(t, "node", "ls", "-q")); len(ids) != 1 {
			t.Errorf("the manager lists %d nodes, want itself only", len(ids))
		}
		wrongHost := cases[0].host
		again := &swarmHost{short: "wrong", ip: wrongHost.ip, opts: harness.Options{Image: image,
			Name: harness.Name("swarm-wrong-plain"), Run: wrongHost.opts.Run[:len(wrongHost.opts.Run)-2]}} // no token, no swarm flags
		again.run(t)
		again.d.WaitReady(t, again.ip+":2375", nil)
		if s := again.api().Run(t, "info", "--format", "{{.Swarm.LocalNodeState}}"); s != "inactive" {
			t.Errorf("the data volume of the host refused holds swarm state %q", s)
		}
	})
}

// Bad swarm settings: exit 2 before anything starts, one line naming the
// flag, never the token.
func testSwarmBadInput(t *testing.T, image string) {
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"a DINV_SWARM_TOKEN that is no token", []string{"DINV_SWARM_TOKEN=hunter2-hunter2"}, []string{"-swarm-join", "m1"},
			"DINV_SWARM_TOKEN: not a swarm join token"},
		{"-swarm-init with -swarm-join", nil, []string{"-swarm-init", "-swarm-join", "m1"},
			"-swarm-init and -swarm-join m1 exclude each other"},
		{"an unknown role", nil, []string{"-swarm-join", "m1", "-swarm-role", "boss"}, "a swarm role is manager or worker"},
		{"an address with a scheme", nil, []string{"-swarm-join", "tcp://m1:2377"}, "not host[:port]"},
		{"a zero timeout", nil, []string{"-swarm-join", "m1", "-swarm-timeout", "0s"}, "-swarm-timeout 0s: give a duration above zero"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"run", "--rm"}
			for _, e := range tc.env {
				args = append(args, "-e", e)
			}
			r := harness.Client{}.Try(t, append(append(args, image), tc.args...)...)
			if r.ExitCode != 2 {
				t.Errorf("exit %d, want 2\n%s", r.ExitCode, r)
			}
			out := r.Stdout + r.Stderr
			if !strings.Contains(out, "[ERROR] dinv: bad configuration") || !strings.Contains(out, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
			if strings.Contains(out, "hunter2") {
				t.Errorf("the token in the output:\n%s", out)
			}
			if strings.Contains(out, "Starting up") {
				t.Errorf("an engine started:\n%s", out)
			}
		})
	}
}
