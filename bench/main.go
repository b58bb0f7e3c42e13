// Command bench measures DinV against the bare engine of the same image, side
// by side on the machine's Docker engine, and prints a markdown table (`make
// bench` runs it through scripts/bench.sh):
//
//	go run ./bench -image dinv:latest -rounds 5
//
// The contenders of a row start in the same round, one after the other, in
// an order that rotates from round to round (AB, BA, ... or ABC, BCA, CAB,
// ...), so that the noise of a shared machine falls on all alike; the table
// gives the median and min-max of each and the ratio of the medians. Time to
// the first answer runs from the container's .State.StartedAt to the first
// successful GET /_ping from the host (every 5 ms; with -tlsverify over TLS
// with the client certificate), the same loop for every contender.
//
// DinV starts as a user starts it: socket activation on (dinv binds the API
// port and hands it to the engine). Its references are the same image with
// its entrypoint replaced:
//   - the bare engine, started the same way as before activation: the
//     command line of `dinv -dry-run -socket-activation=false` (the engine
//     binds the port itself);
//   - by hand with activation: bench/launcher, bind-mounted, binds the port
//     and execs the command line of `dinv -dry-run` (--host=fd://) with the
//     socket as fd 3 and LISTEN_PID, as systemd would: the floor of an
//     activated start.
//
// With -throughput, docker load and docker save of a 200 MB image (busybox
// and 200 MiB of random bytes, made on the machine's engine) go through the
// TCP port of DinV and of the bare engine, alternating.
//
// Then the swarm and density rows (bench/swarm.go): five DinV hosts started
// at once forming a swarm, and ten plain ones started at once with their
// memory per host.
//
// With -results FILE the run also writes its start-to-ready samples, per
// mode and contender, as JSON; -chart OUT.svg FILE... draws them (one file
// per image) as the chart of docs/performance.md (bench/chart.go) and runs
// nothing else:
//
//	go run ./bench -image dinv:26.1 -results bin/bench/26.1.json
//	go run ./bench -chart docs/performance-start.svg bin/bench/*.json
//
// It needs the engine's own machine: the certificates are a host directory
// bind-mounted on /certs, which the TLS client reads, and the launcher is
// built with the go command.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// namePrefix starts the names of the benchmark's containers and network: the
// pid tells two benchmarks running at once apart.
var namePrefix = fmt.Sprintf("dinv-bench-%d-", os.Getpid())

const defaultSubnet = "10.213.0.0/24"

func main() {
	image := flag.String("image", "dinv:latest", "the DinV image to measure")
	rounds := flag.Int("rounds", 5, "rounds: each contender starts once per round")
	subnet := flag.String("subnet", defaultSubnet, "subnet of the benchmark's network (any unused one; by default the next free /24 of 10.213.0.0/20)")
	timeout := flag.Duration("timeout", 90*time.Second, "how long one start may take to be ready")
	stages := flag.Bool("stages", true, "also list per-stage durations of one DEBUG=true cold -tlsverify start")
	sandboxes := flag.Bool("sandboxes", true, "also measure the least privilege set, the rootless image and gVisor against every privilege")
	rootless := flag.String("rootless-image", "", "the rootless image (default: REPO:<its engine's major.minor>-rootless)")
	gvisor := flag.String("gvisor-images", "", "the images measured in gVisor, space-separated (default: every REPO:<major.minor> of -image's repository)")
	var sw swarmOpts
	flag.IntVar(&sw.rounds, "swarm-rounds", 3, "rounds of the swarm and density rows (0: none)")
	flag.IntVar(&sw.density, "density", 10, "DinV hosts started at once for the density row")
	flag.StringVar(&sw.subnet, "swarm-subnet", "10.213.1.0/24", "subnet of the swarm and density rows' network (any unused one)")
	load := flag.Bool("throughput", true, "also measure `docker load` and `docker save` of a 200 MB image through the TCP port")
	starts := flag.Bool("starts", true, "measure the starts (false: only the throughput, and the per-stage durations with -stages)")
	resultsFile := flag.String("results", "", "also write the start-to-ready samples, per mode and contender, as JSON to this file (for -chart)")
	chart := flag.String("chart", "", "draw the results files given as arguments as an SVG chart into this file, and run nothing")
	flag.Parse()

	if *chart != "" {
		if err := drawChart(*chart, flag.Args()); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected arguments %q (results files go with -chart)\n", flag.Args())
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sb := sandboxOpts{on: *sandboxes, rootless: *rootless, gvisor: *gvisor}
	// Every container and network the benchmark makes is labelled
	// org.dinv.test=bench: what a killed run left is removed first, and
	// anything this run's own cleanup missed at the end.
	harness.BeginSuite("bench")
	res, err := run(ctx, os.Stdout, *image, *rounds, *subnet, *timeout, *stages, *load, *starts, sw, sb)
	harness.EndSuite()
	if err == nil && *resultsFile != "" {
		err = writeResults(*resultsFile, res)
	}
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
	on       bool
	rootless string
	gvisor   string // space-separated; "" for every REPO:<major.minor>
}

// rootlessTag is the rootless variant's name of image, whose engine is
// version ("28.5.2"): dinv:latest -> dinv:28.5-rootless. Docker 29 on is
// tagged by its major (images/build.sh: dinv:29, built from moby's module):
// dinv:latest with 29.8.1-dev -> dinv:29-rootless.
func rootlessTag(image, version string) string {
	repo := image
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		repo = image[:i]
	}
	v := strings.SplitN(version, ".", 3)
	if len(v) < 2 {
		return repo + ":latest-rootless"
	}
	if major, err := strconv.Atoi(v[0]); err == nil && major >= 29 {
		return repo + ":" + v[0] + "-rootless"
	}
	return repo + ":" + v[0] + "." + v[1] + "-rootless"
}

// versionImages lists the REPO:<major.minor> images of image's repository
// on the engine, oldest engine first (dinv:latest -> dinv:20.10 dinv:26.1 ...).
func versionImages(ctx context.Context, image string) []string {
	repo := image
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		repo = image[:i]
	}
	out, err := docker(ctx, "images", "--format", "{{.Tag}}", repo)
	if err != nil {
		return nil
	}
	var v [][2]int
	for _, tag := range strings.Fields(out) {
		var major, minor int
		if n, _ := fmt.Sscanf(tag, "%d.%d", &major, &minor); n == 2 && tag == fmt.Sprintf("%d.%d", major, minor) {
			v = append(v, [2]int{major, minor})
		}
	}
	slices.SortFunc(v, func(a, b [2]int) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	var images []string
	for _, x := range v {
		images = append(images, fmt.Sprintf("%s:%d.%d", repo, x[0], x[1]))
	}
	return images
}

// run measures image and prints the tables to w; it returns the
// start-to-ready samples for the chart.
func run(ctx context.Context, w io.Writer, image string, rounds int, subnet string, timeout time.Duration,
	withStages, withThroughput, withStarts bool, sw swarmOpts, sb sandboxOpts) (res benchResults, err error) {
	s, cleanup, err := prepare(ctx, image, subnet, timeout)
	defer cleanup()
	if err != nil {
		return res, err
	}
	progress("dry-run: the engine's command lines")
	// DinV's engine gets the API port from dinv (--host=fd://); the bare
	// engine is the image started as before socket activation: the command
	// line of -socket-activation=false, the engine binding the port itself.
	plainCmd, err := s.dryRun(ctx, "")
	if err != nil {
		return res, err
	}
	barePlainCmd, err := s.dryRun(ctx, "", "-socket-activation=false")
	if err != nil {
		return res, err
	}
	tlsCmd, err := s.dryRun(ctx, s.warmCerts, "-tlsverify")
	if err != nil {
		return res, err
	}
	bareTLSCmd, err := s.dryRun(ctx, s.warmCerts, "-tlsverify", "-socket-activation=false")
	if err != nil {
		return res, err
	}
	if err := s.buildLauncher(ctx); err != nil {
		return res, err
	}
	// -dry-run writes nothing: one real -tlsverify start makes the warm
	// certificates every -tlsverify contender but the cold one starts with.
	progress("one -tlsverify start to make the warm certificates")
	if _, err := s.startOnce(ctx, contender{id: "warm-up", tls: true, run: []string{s.image, "-tlsverify"}}, 0); err != nil {
		return res, err
	}
	certs := certsDigest(s.warmCerts)
	progress("plain, DinV's engine and by hand:  " + strings.Join(plainCmd, " "))
	progress("plain, bare engine:                " + strings.Join(barePlainCmd, " "))
	progress("tls, DinV's engine and by hand:    " + strings.Join(tlsCmd, " "))
	progress("tls, bare engine:                  " + strings.Join(bareTLSCmd, " "))

	var mem [3]kib // dinv, dockerd, containerd
	settle := func(ctx context.Context, name string) error {
		time.Sleep(time.Second) // dinv has logged ready and is only supervising
		d, e, c, err := rss(ctx, name)
		mem[0], mem[1], mem[2] = append(mem[0], d), append(mem[1], e), append(mem[2], c)
		return err
	}
	dinvPlain := contender{id: "dinv-plain", run: []string{s.image}, after: settle}
	barePlain := contender{id: "bare-plain", run: s.bare(barePlainCmd, 2375)}
	handPlain := contender{id: "hand-plain", launcher: true, run: s.byHand(2375, plainCmd)}
	dinvTLS := contender{id: "dinv-tls", tls: true, run: []string{s.image, "-tlsverify"}}
	bareTLS := contender{id: "bare-tls", tls: true, run: s.bare(bareTLSCmd, 2376)}
	handTLS := contender{id: "hand-tls", tls: true, launcher: true, run: s.byHand(2376, tlsCmd)}
	dinvCold := contender{id: "dinv-cold", tls: true, cold: true, run: []string{s.image, "-tlsverify"}}
	// Each group's members start one after the other in every round, in an
	// order that rotates from round to round.
	const plain, tls = 0, 1
	const dinv, bare, hand, cold = 0, 1, 2, 3
	groups := [][]contender{plain: {dinv: dinvPlain, bare: barePlain, hand: handPlain},
		tls: {dinv: dinvTLS, bare: bareTLS, hand: handTLS, cold: dinvCold}}

	got := make([][]samples, len(groups))    // per group and member: time to ready
	engine := make([][]samples, len(groups)) // and to the engine's first log line
	own := make([][]samples, len(groups))    // and the engine's own start, in its log
	for g := range groups {
		got[g], engine[g], own[g] = make([]samples, len(groups[g])), make([]samples, len(groups[g])), make([]samples, len(groups[g]))
	}
	var help, helpRef samples
	var tput throughput
	if withThroughput {
		progress("a 200 MB image for docker load and docker save: " + payloadImage)
		if tput.tar, tput.size, err = s.payload(ctx); err != nil {
			return res, err
		}
	}
	for r := 1; r <= rounds; r++ {
		for g, members := range groups {
			if !withStarts {
				break
			}
			for _, j := range rotation(len(members), r) {
				c := members[j]
				m, err := s.startOnce(ctx, c, r)
				if err != nil {
					return res, err
				}
				got[g][j] = append(got[g][j], m.ready)
				engine[g][j] = append(engine[g][j], m.engine)
				if m.own > 0 {
					own[g][j] = append(own[g][j], m.own)
				}
				progress(fmt.Sprintf("round %d/%d %-10s %s (engine started after %s, ready %s after that)", r, rounds, c.id, ms(m.ready), ms(m.engine), ms(m.own)))
			}
		}
		if withThroughput {
			if err := s.throughputRound(ctx, &tput, [2]contender{{id: "dinv-load", run: dinvPlain.run}, {id: "bare-load", run: barePlain.run}}, r, rounds); err != nil {
				return res, err
			}
		}
		if !withStarts {
			continue
		}
		h, ref, err := helpTimes(ctx, s.image, s.network, r)
		if err != nil {
			return res, err
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
		gvisor := strings.Fields(sb.gvisor)
		if len(gvisor) == 0 {
			gvisor = versionImages(ctx, image)
		}
		if sandboxRows, err = s.sandboxRows(ctx, rounds, sb.rootless, gvisor, tput.tar); err != nil {
			return res, err
		}
	}
	var stageRows []stageTime
	if withStages {
		progress("one DEBUG=true cold -tlsverify start for the per-stage durations")
		if stageRows, err = s.stageDurations(ctx, dinvCold); err != nil {
			return res, err
		}
	}
	var swarm swarmResults
	if sw.rounds > 0 {
		if swarm, err = s.swarmRounds(ctx, sw.rounds, sw.density, sw.subnet); err != nil {
			return res, err
		}
	}

	fmt.Fprintf(w, "DinV benchmark: %s, %d rounds, %s\n\n", describe(ctx, image, s.image), rounds, machine(ctx))
	fmt.Fprintln(w, "| measurement | DinV: median (min-max) | reference: median (min-max) | ratio of medians | paired difference | target |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	row := func(what string, ab [2]samples, target string) {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", what, ab[0].summary(), ab[1].summary(),
			ratio(ab[0], ab[1]), delta(paired(ab[0], ab[1]).median()), target)
	}
	vs := func(x [][]samples, g, a, b int) [2]samples { return [2]samples{x[g][a], x[g][b]} }
	row("warm plain start to first answer: DinV (activated) vs bare engine (its own TCP listener)", vs(got, plain, dinv, bare), verdict(vs(got, plain, dinv, bare), 0.60))
	row("warm plain start to first answer: DinV vs the image started by hand with activation", vs(got, plain, dinv, hand), verdict(vs(got, plain, dinv, hand), 1.03))
	row("warm plain start to first answer: by hand with activation vs bare engine (activation alone)", vs(got, plain, hand, bare), "-")
	row("warm `-tlsverify` start to first answer: DinV (activated) vs bare engine (its own TCP listener), same certificates", vs(got, tls, dinv, bare), verdict(vs(got, tls, dinv, bare), 1.03))
	row("warm `-tlsverify` start to first answer: DinV vs by hand with activation, same certificates", vs(got, tls, dinv, hand), verdict(vs(got, tls, dinv, hand), 1.03))
	row("warm `-tlsverify` start to the engine's first log line: DinV vs by hand with activation (dinv's own share)", vs(engine, tls, dinv, hand), "-")
	// The engine's own start, against the floor every tag should reach.
	floor := func(ab [2]samples) string {
		return met(len(ab[0]) > 0 && ab[0].median() <= ownTarget, "DinV <= "+ms(ownTarget))
	}
	row("the engine's own start (its log: \"Starting up\" to its last \"API listen on\"), plain: DinV vs bare engine", vs(own, plain, dinv, bare), floor(vs(own, plain, dinv, bare)))
	row("the engine's own start, `-tlsverify`: DinV vs bare engine", vs(own, tls, dinv, bare), floor(vs(own, tls, dinv, bare)))
	coldWarm := vs(got, tls, cold, dinv)
	coldDelta := coldWarm[0].median() - coldWarm[1].median()
	row("cold `-tlsverify` (empty /certs) vs warm `-tlsverify`, both DinV", coldWarm,
		met(coldDelta < 50*time.Millisecond, "difference of medians "+delta(coldDelta)+" < +50 ms"))
	fmt.Fprintf(w, "| RSS while supervising a ready engine: dinv (PID 1) vs dockerd (containerd: %s) | %s | %s | - | - | %s |\n",
		mem[2].summary(), mem[0].summary(), mem[1].summary(), met(median(mem[0]) < 10*1024, "< 10 MiB"))
	if withThroughput {
		tput.rows(w)
	}
	row("`docker run IMAGE -h` wall time vs `docker run --entrypoint true IMAGE`", [2]samples{help, helpRef}, "-")
	fmt.Fprintln(w, "\nTimes run from the container's StartedAt to the first GET /_ping answered from the host "+
		"(the engine's first log line: its \"Starting up\"); the paired difference is the median of each round's "+
		"DinV minus reference (the two ran in the same round). The bare engine is the image with its entrypoint replaced by "+
		"the command line of `dinv -dry-run -socket-activation=false` (the engine binds the port, as before activation); "+
		"by hand with activation, by a launcher that binds the port and execs the command line of `dinv -dry-run` "+
		"(--host=fd://) with the socket as fd 3 and LISTEN_PID, as systemd would. Where dinv starts the engine's containerd "+
		"itself (26.1), the references run the engine alone (no --containerd): it starts its own, as docker:dind's does; "+
		"dinv's share (to the engine's first log line) then holds containerd's start, which their engines make after theirs. "+
		"The engine's own start is its log's \"Starting up\" to its last \"API listen on\".")

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
	engineVersion := imageEngine(ctx, s.image)
	res = benchResults{Image: image, Engine: engineVersion, Rounds: rounds, Machine: machine(ctx),
		Date: time.Now().Format("2006-01-02")}
	if withStarts {
		res.Groups = startGroups(majorMinor(engineVersion), got, sandboxRows, func(image string) string {
			return majorMinor(imageEngine(ctx, image))
		})
	}
	return res, nil
}

// ownTarget is the engine's own start every tag should stay within: the
// floor 20.10 and 28.5 reach on a quiet machine (0.30 to 0.34 s).
const ownTarget = 500 * time.Millisecond

// The chart's names of the contenders.
const (
	barDinV      = "DinV"
	barHand      = "by hand with activation"
	barBare      = "bare engine"
	barCold      = "DinV, empty /certs"
	barSandboxed = "DinV in the sandbox"
)

// startGroups are the chart's groups of one run: plain and -tlsverify starts
// of tag (got, indexed as run's groups: plain, tls; dinv, bare, hand, cold),
// then each sandbox against DinV with every privilege, under the tag of the
// sandbox's image (tagOf).
func startGroups(tag string, got [][]samples, sandboxes []*sandboxRow, tagOf func(image string) string) []chartGroup {
	const dinv, bare, hand, cold = 0, 1, 2, 3
	groups := []chartGroup{
		{Tag: tag, Mode: "plain", Bars: []chartBar{
			{barDinV, toMS(got[0][dinv])}, {barHand, toMS(got[0][hand])}, {barBare, toMS(got[0][bare])}}},
		{Tag: tag, Mode: "-tlsverify", Bars: []chartBar{
			{barDinV, toMS(got[1][dinv])}, {barHand, toMS(got[1][hand])}, {barBare, toMS(got[1][bare])}, {barCold, toMS(got[1][cold])}}},
	}
	for _, r := range sandboxes {
		if len(r.ready[0]) == 0 {
			continue
		}
		groups = append(groups, chartGroup{Tag: tagOf(r.image), Mode: r.mode, Bars: []chartBar{
			{barSandboxed, toMS(r.ready[0])}, {barDinV, toMS(r.ready[1])}}})
	}
	return groups
}

// imageEngine is the engine version an image carries (its label).
func imageEngine(ctx context.Context, image string) string {
	v, _ := docker(ctx, "image", "inspect", "-f", `{{index .Config.Labels "org.dinv.engine-version"}}`, image)
	return v
}

// rotation is the order in which n contenders start in round r (from 1):
// 0..n-1 rotated by r-1, so that each starts first, second, ... in turn.
func rotation(n, r int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = (i + r - 1) % n
	}
	return order
}

// prepare probes the privileges, makes the network, the directory of the
// warm certificates and one for the benchmark's own files (the launcher, the
// payload of docker load). cleanup removes them, and whatever was added to
// s.undo later, and is safe to call on an error.
func prepare(ctx context.Context, image, subnet string, timeout time.Duration) (*setup, func(), error) {
	s := &setup{image: image, network: namePrefix + "net", hostname: "dinv-bench", timeout: timeout}
	cleanup := func() {
		for i := len(s.undo) - 1; i >= 0; i-- {
			s.undo[i]()
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

	// The default subnet, or the next /24s when another network (another
	// benchmark running) holds it; a subnet given with -subnet only.
	subnets := []string{subnet}
	if subnet == defaultSubnet {
		for i := 1; i < 16; i++ {
			subnets = append(subnets, fmt.Sprintf("10.213.%d.0/24", i))
		}
	}
	for i, sn := range subnets {
		_, ipnet, err := net.ParseCIDR(sn)
		if err != nil {
			return nil, cleanup, fmt.Errorf("-subnet: %v", err)
		}
		ip := ipnet.IP.To4()
		if ip == nil {
			return nil, cleanup, fmt.Errorf("-subnet %s: not IPv4", sn)
		}
		ip[3] += 10
		s.ip = ip.String()
		_, err = docker(ctx, "network", "create", "--subnet", sn, s.network)
		if err == nil {
			break
		}
		if i == len(subnets)-1 || !strings.Contains(err.Error(), "overlaps") {
			return nil, cleanup, err
		}
	}
	s.undo = append(s.undo, func() { docker(context.Background(), "network", "rm", s.network) })
	if s.warmCerts, err = os.MkdirTemp("", "dinv-bench-certs-"); err != nil {
		return nil, cleanup, err
	}
	s.undo = append(s.undo, func() { os.RemoveAll(s.warmCerts) })
	if s.dir, err = os.MkdirTemp("", "dinv-bench-"); err != nil {
		return nil, cleanup, err
	}
	s.undo = append(s.undo, func() { os.RemoveAll(s.dir) })
	return s, cleanup, nil
}

// helpTimes is the wall time of `docker run --rm IMAGE -h` and, for scale, of
// the same container running true instead, in alternating order, on the
// benchmark's network (a bridge, as the default one).
func helpTimes(ctx context.Context, image, network string, round int) (help, ref time.Duration, err error) {
	timed := func(args ...string) (time.Duration, error) {
		start := time.Now()
		_, err := docker(ctx, append([]string{"run", "--rm", "--name", fmt.Sprintf("%shelp-%d", namePrefix, round), "--network", network}, args...)...)
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
