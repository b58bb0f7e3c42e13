package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// The sandboxes (docs/security.md, docs/gvisor.md): DinV with the least privileges it runs
// with, with the rootless engine, and in gVisor's sandbox (one row per
// engine), each against DinV with every privilege (runc) on the same image,
// side by side: time to ready, and the wall time of a one-step build (FROM
// busybox, RUN echo) sent to the engine from the host once it is ready (the
// busybox image loaded first, not timed); for gVisor also a `docker load` of
// the 200 MB payload (with -throughput) through the TCP port.

// sandboxRow is one comparison: a sandbox (0) against every privilege (1).
type sandboxRow struct {
	what  string
	mode  string // the chart's name of the sandbox: "least privilege", ...
	image string // the sandbox's image
	pair  pair
	ready [2]samples
	build [2]samples
	load  [2]samples // docker load of the payload; none where not measured
}

// busyboxImage is the test image the builds start from (images/testimages.sh).
const busyboxImage = "dinv-test-busybox"

// sandboxRows measures each sandbox whose image is on the engine; a missing
// one is said and left out. payload is the tar docker load reads in the
// gVisor rows ("": none).
func (s *setup) sandboxRows(ctx context.Context, rounds int, rootlessImage string, gvisorImages []string, payload string) ([]*sandboxRow, error) {
	var rows []*sandboxRow
	measure := func(row *sandboxRow, j int, net []string, load bool) func(ctx context.Context, name string) error {
		return func(ctx context.Context, name string) error {
			d, err := s.buildOnce(ctx, net)
			if err != nil {
				return err
			}
			row.build[j] = append(row.build[j], d)
			if load {
				d, _, err := cli(ctx, "tcp://"+s.ip+":2375", "load", "-i", payload)
				if err != nil {
					return fmt.Errorf("%s: %v", name, err)
				}
				row.load[j] = append(row.load[j], d)
			}
			return nil
		}
	}
	add := func(what, mode, id, image string, privileges, net []string, refImage string, load bool) {
		row := &sandboxRow{what: what, mode: mode, image: image}
		row.pair = pair{
			{id: id, run: []string{image}, privileges: privileges, after: measure(row, 0, net, load)},
			{id: id + "-ref", run: []string{refImage}, after: measure(row, 1, nil, load)},
		}
		rows = append(rows, row)
	}
	add("least privilege vs every privilege", "least privilege", "least", s.image, harness.LeastPrivilege, nil, s.image, false)
	if id, err := docker(ctx, "image", "inspect", "-f", "{{.Id}}", rootlessImage); err == nil {
		add("rootless ("+rootlessImage+") vs every privilege", "rootless", "rootless", id, harness.Rootless, nil, s.image, false)
	} else {
		progress("no " + rootlessImage + ": no rootless row")
	}
	// gVisor: the runtime the tests use (harness.GVisorRuntime). Registered
	// with the machine kernel's sockets (--network=host, Debian's 2024
	// release), builds inside need --network host.
	rt := harness.GVisorRuntime()
	var runtimes map[string]struct {
		Args []string `json:"runtimeArgs"`
	}
	out, _ := docker(ctx, "info", "--format", "{{json .Runtimes}}")
	_ = json.Unmarshal([]byte(out), &runtimes)
	reg, ok := runtimes[rt]
	var gnet []string
	if slices.Contains(reg.Args, "--network=host") {
		gnet = []string{"--network", "host"}
	}
	if !ok {
		progress("no runtime " + rt + " (make engine): no gVisor rows")
		gvisorImages = nil
	}
	for _, img := range gvisorImages {
		gid, err := docker(ctx, "image", "inspect", "-f", "{{.Id}}", img)
		if err != nil {
			progress("no " + img + ": no gVisor row for it")
			continue
		}
		tag := img[strings.LastIndex(img, ":")+1:]
		add("gVisor ("+img+", runtime "+rt+") vs runc, same image", "gVisor "+tag, "gvisor-"+tag, gid,
			harness.GVisor, gnet, gid, payload != "")
		rows[len(rows)-1].image = img // the chart's label: the tag, not the image's ID
	}
	for r := 1; r <= rounds; r++ {
		for _, row := range rows {
			order := []int{0, 1}
			if r%2 == 0 {
				order = []int{1, 0}
			}
			for _, j := range order {
				m, err := s.startOnce(ctx, row.pair[j], r)
				if err != nil {
					return nil, err
				}
				row.ready[j] = append(row.ready[j], m.ready)
				progress(fmt.Sprintf("round %d/%d %-12s ready %s, build %s", r, rounds, row.pair[j].id, ms(m.ready),
					ms(row.build[j][len(row.build[j])-1])))
			}
		}
	}
	return rows, nil
}

// buildOnce loads the busybox image into the engine at s.ip:2375 and times
// one build of a one-step Dockerfile there (the legacy builder: the
// machine's CLI may have no buildx), with net (gVisor with the machine
// kernel's sockets: --network host).
func (s *setup) buildOnce(ctx context.Context, net []string) (time.Duration, error) {
	host := harness.Client{Host: "tcp://" + s.ip + ":2375", Env: []string{"DOCKER_BUILDKIT=0"}}
	if err := harness.Pipe(ctx, harness.Client{}, []string{"save", busyboxImage}, host, []string{"load", "-q"}); err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "dinv-bench-build-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+busyboxImage+"\nRUN echo built > /built\n"), 0o644); err != nil {
		return 0, err
	}
	host.Dir = dir
	start := time.Now()
	r, err := host.Exec(ctx, nil, append(append([]string{"build", "-q", "-t", "bench-built"}, net...), ".")...)
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if r.ExitCode != 0 {
		return 0, fmt.Errorf("build: %s", r)
	}
	return d, nil
}

// printSandboxRows prints the sandboxes' table.
func printSandboxRows(w io.Writer, rows []*sandboxRow) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w, "\nSandboxes, each against DinV with every privilege (the probed set, runc), alternating, on the same engine:")
	fmt.Fprintln(w, "\n| measurement | sandbox: median (min-max) | every privilege: median (min-max) | ratio of medians | paired difference |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range rows {
		for _, m := range []struct {
			what string
			ab   [2]samples
		}{{"start to ready", r.ready}, {"one-step build", r.build}, {"`docker load` of the 200 MB payload", r.load}} {
			if len(m.ab[0]) == 0 {
				continue
			}
			fmt.Fprintf(w, "| %s: %s | %s | %s | %s | %s |\n", m.what, r.what, m.ab[0].summary(), m.ab[1].summary(),
				ratio(m.ab[0], m.ab[1]), delta(paired(m.ab[0], m.ab[1]).median()))
		}
	}
}
