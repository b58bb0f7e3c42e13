// Command bench measures DinV against the bare engine of the same image, side
// by side on the machine's Docker engine, and prints a markdown table (`make
// bench` runs it through scripts/bench.sh):
//
//	go run ./bench -image dinv:latest -rounds 5
//
// Each pair is measured in the same round, the two alternating (AB, BA, AB,
// ...), so that the noise of a shared machine falls on both alike; the table
// gives the median and min-max of each and the ratio of the medians. Time to
// ready runs from the container's .State.StartedAt to the first successful
// GET /_ping from the host (every 5 ms; with -tlsverify over TLS with the
// client certificate), the same loop for every contender. The bare engine is
// the image with its entrypoint replaced by the command line `dinv -dry-run`
// prints for the same start.
//
// Then the swarm and density rows (bench/swarm.go): five DinV hosts started
// at once forming a swarm, and ten plain ones started at once with their
// memory per host.
//
// It needs the engine's own machine: the certificates are a host directory
// bind-mounted on /certs, which the TLS client reads.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/dinv/dinv/test/harness"
)

func main() {
	image := flag.String("image", "dinv:latest", "the DinV image to measure")
	rounds := flag.Int("rounds", 5, "rounds: each contender starts once per round")
	subnet := flag.String("subnet", "10.213.0.0/24", "subnet of the benchmark's network (any unused one)")
	timeout := flag.Duration("timeout", 90*time.Second, "how long one start may take to be ready")
	stages := flag.Bool("stages", true, "also list per-stage durations of one DEBUG=true cold -tlsverify start")
	sandboxes := flag.Bool("sandboxes", true, "also measure the least privilege set, the rootless image and gVisor against every privilege")
	rootless := flag.String("rootless-image", "", "the rootless image (default: REPO:<its engine's major.minor>-rootless)")
	gvisor := flag.String("gvisor-image", "dinv:26.1", "the image measured in gVisor (its runc must be older than 1.2.8)")
	var sw swarmOpts
	flag.IntVar(&sw.rounds, "swarm-rounds", 3, "rounds of the swarm and density rows (0: none)")
	flag.IntVar(&sw.density, "density", 10, "DinV hosts started at once for the density row")
	flag.StringVar(&sw.subnet, "swarm-subnet", "10.213.1.0/24", "subnet of the swarm and density rows' network (any unused one)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sb := sandboxOpts{on: *sandboxes, rootless: *rootless, gvisor: *gvisor}
	// Every container and network the benchmark makes is labelled
	// org.dinv.test=bench: what a killed run left is removed first, and
	// anything this run's own cleanup missed at the end.
	harness.BeginSuite("bench")
	err := run(ctx, os.Stdout, *image, *rounds, *subnet, *timeout, *stages, sw, sb)
	harness.EndSuite()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// swarmOpts are the swarm and density rows' settings.
type swarmOpts struct {
	rounds, density int
	subnet          string
}

// pair is one row of the table: DinV (0) measured against a reference (1),
// the two alternating.
type pair [2]contender

// sandboxOpts say whether and with which images the sandboxes are measured.
type sandboxOpts struct {
	on               bool
	rootless, gvisor string
}

// rootlessTag is the rootless variant's name of image, whose engine is
// version ("28.5.2"): dinv:latest -> dinv:28.5-rootless.
func rootlessTag(image, version string) string {
	repo := image
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		repo = image[:i]
	}
	v := strings.SplitN(version, ".", 3)
	if len(v) < 2 {
		return repo + ":latest-rootless"
	}
	return repo + ":" + v[0] + "." + v[1] + "-rootless"
}

func run(ctx context.Context, w io.Writer, image string, rounds int, subnet string, timeout time.Duration, withStages bool, sw swarmOpts, sb sandboxOpts) error {
	s, cleanup, err := prepare(ctx, image, subnet, timeout)
	defer cleanup()
	if err != nil {
		return err
	}
	progress("dry-run: the engine's command lines")
	plainCmd, err := s.dryRun(ctx, "")
	if err != nil {
		return err
	}
	// -dry-run makes the certificates as a real start would: these are the
	// warm ones every -tlsverify contender but the cold one starts with.
	tlsCmd, err := s.dryRun(ctx, s.warmCerts, "-tlsverify")
	if err != nil {
		return err
	}
	certs := certsDigest(s.warmCerts)
	progress("plain:  " + strings.Join(plainCmd, " "))
	progress("tls:    " + strings.Join(tlsCmd, " "))

	var mem [3]kib // dinv, dockerd, containerd
	settle := func(ctx context.Context, name string) error {
		time.Sleep(time.Second) // dinv has logged ready and is only supervising
		d, e, c, err := rss(ctx, name)
		mem[0], mem[1], mem[2] = append(mem[0], d), append(mem[1], e), append(mem[2], c)
		return err
	}
	dinvPlain := contender{id: "dinv-plain", run: []string{s.image}, after: settle}
	barePlain := contender{id: "bare-plain", run: s.bare(plainCmd, 2375)}
	dinvTLS := contender{id: "dinv-tls", tls: true, run: []string{s.image, "-tlsverify"}}
	bareTLS := contender{id: "bare-tls", tls: true, run: s.bare(tlsCmd, 2376)}
	dinvCold := contender{id: "dinv-cold", tls: true, cold: true, run: []string{s.image, "-tlsverify"}}
	pairs := []pair{{dinvPlain, barePlain}, {dinvTLS, bareTLS}, {dinvCold, dinvTLS}}

	got := make([][2]samples, len(pairs))    // per pair: a's, b's time to ready
	engine := make([][2]samples, len(pairs)) // and to the engine's first log line
	var help, helpRef samples
	for r := 1; r <= rounds; r++ {
		for i, p := range pairs {
			order := []int{0, 1}
			if r%2 == 0 {
				order = []int{1, 0}
			}
			for _, j := range order {
				c := p[j]
				m, err := s.startOnce(ctx, c, r)
				if err != nil {
					return err
				}
				got[i][j] = append(got[i][j], m.ready)
				engine[i][j] = append(engine[i][j], m.engine)
				progress(fmt.Sprintf("round %d/%d %-10s %s (engine started after %s)", r, rounds, c.id, ms(m.ready), ms(m.engine)))
			}
		}
		h, ref, err := helpTimes(ctx, s.image, s.network, r)
		if err != nil {
			return err
		}
		help, helpRef = append(help, h), append(helpRef, ref)
		progress(fmt.Sprintf("round %d/%d %-10s %s (entrypoint true: %s)", r, rounds, "-h", ms(h), ms(ref)))
	}
	if certsDigest(s.warmCerts) != certs {
		progress("WARNING: the warm certificates changed during the run: the warm -tlsverify starts were not all warm")
	}
	var sandboxRows []*sandboxRow
	if sb.on {
		progress("the sandboxes against every privilege")
		if sb.rootless == "" {
			v, _ := docker(ctx, "image", "inspect", "-f", `{{index .Config.Labels "org.dinv.engine-version"}}`, s.image)
			sb.rootless = rootlessTag(image, v)
		}
		if sandboxRows, err = s.sandboxRows(ctx, rounds, sb.rootless, sb.gvisor); err != nil {
			return err
		}
	}
	var stageRows []stageTime
	if withStages {
		progress("one DEBUG=true cold -tlsverify start for the per-stage durations")
		if stageRows, err = s.stageDurations(ctx, dinvCold); err != nil {
			return err
		}
	}
	var swarm swarmResults
	if sw.rounds > 0 {
		if swarm, err = s.swarmRounds(ctx, sw.rounds, sw.density, sw.subnet); err != nil {
			return err
		}
	}

	fmt.Fprintf(w, "DinV benchmark: %s, %d rounds, %s\n\n", describe(ctx, image, s.image), rounds, machine(ctx))
	fmt.Fprintln(w, "| measurement | DinV: median (min-max) | reference: median (min-max) | ratio of medians | paired difference | target |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	row := func(what string, ab [2]samples, target string) {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", what, ab[0].summary(), ab[1].summary(),
			ratio(ab[0], ab[1]), delta(paired(ab[0], ab[1]).median()), target)
	}
	row("warm plain start to ready: quickstart vs bare engine", got[0], verdict(got[0], 1.03))
	row("warm `-tlsverify` start to ready vs bare engine, same certificates", got[1], verdict(got[1], 1.03))
	row("warm `-tlsverify` start to the engine's first log line (dinv's own share)", engine[1], "-")
	cold := got[2][0].median() - got[2][1].median()
	row("cold `-tlsverify` (empty /certs) vs warm `-tlsverify`, both DinV", got[2],
		met(cold < 50*time.Millisecond, "difference of medians "+delta(cold)+" < +50 ms"))
	fmt.Fprintf(w, "| RSS while supervising a ready engine: dinv (PID 1) vs dockerd (containerd: %s) | %s | %s | - | - | %s |\n",
		mem[2].summary(), mem[0].summary(), mem[1].summary(), met(median(mem[0]) < 10*1024, "< 10 MiB"))
	row("`docker run IMAGE -h` wall time vs `docker run --entrypoint true IMAGE`", [2]samples{help, helpRef}, "-")
	fmt.Fprintln(w, "\nTimes run from the container's StartedAt to the first GET /_ping answered from the host "+
		"(the engine's first log line: its \"Starting up\"); the paired difference is the median of each round's "+
		"DinV minus reference (the two ran back to back).")

	printSandboxRows(w, sandboxRows)
	if len(stageRows) > 0 {
		fmt.Fprintln(w, "\nPer-stage durations, one cold `-tlsverify` start with DEBUG=true (the engine in debug mode too):")
		fmt.Fprintln(w, "\n| stage | duration |\n|---|---|")
		for _, r := range stageRows {
			fmt.Fprintf(w, "| %s | %s |\n", r.name, ms(r.d))
		}
	}
	if sw.rounds > 0 {
		printSwarm(w, swarm, sw.rounds)
	}
	return nil
}

// prepare probes the privileges, makes the network and the directory of the
// warm certificates. cleanup removes them and is safe to call on an error.
func prepare(ctx context.Context, image, subnet string, timeout time.Duration) (*setup, func(), error) {
	s := &setup{image: image, network: "dinv-bench-net", hostname: "dinv-bench", timeout: timeout}
	var undo []func()
	cleanup := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	// Every start uses the image's ID: a `make images` meanwhile changes nothing.
	id, err := docker(ctx, "image", "inspect", "-f", "{{.Id}}", image)
	if err != nil {
		return nil, cleanup, fmt.Errorf("no image %s here (make images): %v", image, err)
	}
	s.image = id
	p, err := harness.Probe(id)
	if err != nil {
		return nil, cleanup, err
	}
	s.privileges = p.Options
	progress("privileges: " + strings.Join(p.Options, " "))

	_, ipnet, err := net.ParseCIDR(subnet)
	if err != nil {
		return nil, cleanup, fmt.Errorf("-subnet: %v", err)
	}
	ip := ipnet.IP.To4()
	if ip == nil {
		return nil, cleanup, fmt.Errorf("-subnet %s: not IPv4", subnet)
	}
	ip[3] += 10
	s.ip = ip.String()
	if _, err := docker(ctx, "network", "create", "--subnet", subnet, s.network); err != nil {
		return nil, cleanup, err
	}
	undo = append(undo, func() { docker(context.Background(), "network", "rm", s.network) })
	if s.warmCerts, err = os.MkdirTemp("", "dinv-bench-certs-"); err != nil {
		return nil, cleanup, err
	}
	undo = append(undo, func() { os.RemoveAll(s.warmCerts) })
	return s, cleanup, nil
}

// helpTimes is the wall time of `docker run --rm IMAGE -h` and, for scale, of
// the same container running true instead, in alternating order, on the
// benchmark's network (a bridge, as the default one).
func helpTimes(ctx context.Context, image, network string, round int) (help, ref time.Duration, err error) {
	timed := func(args ...string) (time.Duration, error) {
		start := time.Now()
		_, err := docker(ctx, append([]string{"run", "--rm", "--name", fmt.Sprintf("dinv-bench-help-%d", round), "--network", network}, args...)...)
		return time.Since(start), err
	}
	first, second := []string{image, "-h"}, []string{"--entrypoint", "true", image}
	if round%2 == 0 {
		first, second = second, first
	}
	a, err := timed(first...)
	if err != nil {
		return 0, 0, err
	}
	b, err := timed(second...)
	if round%2 == 0 {
		a, b = b, a
	}
	return a, b, err
}

// verdict compares the ratio of medians of DinV and reference with the target.
func verdict(ab [2]samples, target float64) string {
	a, b := ab[0], ab[1]
	ok := len(a) > 0 && len(b) > 0 && float64(a.median()) <= target*float64(b.median())
	return met(ok, fmt.Sprintf("<= %.2f", target))
}

func met(ok bool, target string) string {
	if ok {
		return target + ": met"
	}
	return target + ": MISSED"
}

// describe names the image with its ID, engine version and dinv's revision.
func describe(ctx context.Context, name, id string) string {
	out, _ := docker(ctx, "image", "inspect", "-f",
		`engine {{index .Config.Labels "org.dinv.engine-version"}}, dinv {{index .Config.Labels "org.opencontainers.image.version"}}`, id)
	return fmt.Sprintf("%s (%.19s, %s)", name, id, out)
}

// machine is the host the run measured: CPUs, kernel, the host engine.
func machine(ctx context.Context) string {
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	host, _ := docker(ctx, "version", "-f", "{{.Server.Version}}")
	load, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(load)); len(f) >= 3 {
		load = []byte(strings.Join(f[:3], " "))
	}
	return fmt.Sprintf("%d CPUs, Linux %s, host engine %s, load %s",
		runtime.NumCPU(), strings.TrimSpace(string(kernel)), host, load)
}

func progress(msg string) { fmt.Fprintln(os.Stderr, "bench:", msg) }
