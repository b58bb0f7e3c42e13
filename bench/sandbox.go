package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dinv/dinv/test/harness"
)

// The sandboxes (docs/security.md): DinV with the least privileges it runs
// with, with the rootless engine, and in gVisor's sandbox, each against DinV
// with every privilege on the same engine, side by side: time to ready, and
// the wall time of a one-step build (FROM busybox, RUN echo) sent to the
// engine from the host once it is ready (the busybox image loaded first,
// not timed).

// sandboxRow is one comparison: a sandbox (0) against every privilege (1).
type sandboxRow struct {
	what  string
	mode  string // the chart's name of the sandbox: "least privilege", ...
	image string // the sandbox's image
	pair  pair
	ready [2]samples
	build [2]samples
}

// busyboxImage is the test image the builds start from (images/testimages.sh).
const busyboxImage = "dinv-test-busybox"

// sandboxRows measures each sandbox whose image is on the engine; a missing
// one is said and left out.
func (s *setup) sandboxRows(ctx context.Context, rounds int, rootlessImage, gvisorImage string) ([]*sandboxRow, error) {
	var rows []*sandboxRow
	built := map[string]*samples{}
	build := func(id string, net []string) func(ctx context.Context, name string) error {
		return func(ctx context.Context, name string) error {
			d, err := s.buildOnce(ctx, net)
			if err == nil {
				*built[id] = append(*built[id], d)
			}
			return err
		}
	}
	add := func(what, mode, id, image string, privileges, args, net []string, refImage string) {
		row := &sandboxRow{what: what, mode: mode, image: image}
		built[id], built[id+"-ref"] = &row.build[0], &row.build[1]
		row.pair = pair{
			{id: id, run: append([]string{image}, args...), privileges: privileges, after: build(id, net)},
			{id: id + "-ref", run: []string{refImage}, after: build(id+"-ref", nil)},
		}
		rows = append(rows, row)
	}
	add("least privilege vs every privilege", "least privilege", "least", s.image, harness.LeastPrivilege, nil, nil, s.image)
	if id, err := docker(ctx, "image", "inspect", "-f", "{{.Id}}", rootlessImage); err == nil {
		add("rootless ("+rootlessImage+") vs every privilege", "rootless", "rootless", id, harness.Rootless, nil, nil, s.image)
	} else {
		progress("no " + rootlessImage + ": no rootless row")
	}
	runtimes, _ := docker(ctx, "info", "--format", "{{json .Runtimes}}")
	gid, err := docker(ctx, "image", "inspect", "-f", "{{.Id}}", gvisorImage)
	switch {
	case !strings.Contains(runtimes, `"runsc"`):
		progress("no runtime runsc (make engine): no gVisor row")
	case err != nil:
		progress("no " + gvisorImage + ": no gVisor row")
	default:
		add("gVisor ("+gvisorImage+") vs every privilege, same image", "gVisor", "gvisor", gid, harness.GVisor,
			nil, []string{"--network", "host"}, gid)
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
// machine's CLI may have no buildx), with net (gVisor: --network host).
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
	fmt.Fprintln(w, "\nSandboxes, each against DinV with every privilege (the probed set), alternating, on the same engine:")
	fmt.Fprintln(w, "\n| measurement | sandbox: median (min-max) | every privilege: median (min-max) | ratio of medians | paired difference |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range rows {
		for _, m := range []struct {
			what string
			ab   [2]samples
		}{{"start to ready", r.ready}, {"one-step build", r.build}} {
			fmt.Fprintf(w, "| %s: %s | %s | %s | %s | %s |\n", m.what, r.what, m.ab[0].summary(), m.ab[1].summary(),
				ratio(m.ab[0], m.ab[1]), delta(paired(m.ab[0], m.ab[1]).median()))
		}
	}
}
