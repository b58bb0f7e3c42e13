package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// busybox is the test image (images/testimages.sh) the payload is layered on.
const busybox = "dinv-test-busybox"

// payloadImage is the image of about 200 MB that docker load and docker save
// move through the API's TCP port: busybox and a layer of 200 MiB of random
// bytes (incompressible). Its tag is the benchmark's pid, so that two runs on
// one machine do not share it.
var payloadImage = "dinv-bench-payload:" + strconv.Itoa(os.Getpid())

// throughput holds the rates of docker load and docker save, DinV (0)
// against the bare engine (1), in MB/s (10^6 bytes), one per round.
type throughput struct {
	tar        string // payloadImage as docker save wrote it on the host
	size       int64  // its bytes
	load, save [2]rates
}

// payload makes payloadImage on the machine's engine, without a registry
// (a busybox container writes the random layer, docker commit makes the
// image), and saves it into s.dir. The image is removed by s's cleanup.
func (s *setup) payload(ctx context.Context) (string, int64, error) {
	removeOldPayloads(ctx)
	name := namePrefix + "payload"
	defer docker(context.Background(), "rm", "-f", name)
	if _, err := docker(ctx, "run", "--name", name, "--network", "none", busybox,
		"dd", "if=/dev/urandom", "of=/payload", "bs=1048576", "count=200"); err != nil {
		return "", 0, fmt.Errorf("the payload of docker load (is %s there? make images): %v", busybox, err)
	}
	if _, err := docker(ctx, "commit", name, payloadImage); err != nil {
		return "", 0, err
	}
	s.undo = append(s.undo, func() { docker(context.Background(), "rmi", payloadImage) })
	tar := filepath.Join(s.dir, "payload.tar")
	if _, err := docker(ctx, "save", "-o", tar, payloadImage); err != nil {
		return "", 0, err
	}
	fi, err := os.Stat(tar)
	if err != nil {
		return "", 0, err
	}
	return tar, fi.Size(), nil
}

// removeOldPayloads removes the payload images of benchmarks that are gone
// (killed before their clean-up): their tag is the pid of a process that no
// longer runs the benchmark.
func removeOldPayloads(ctx context.Context) {
	repo, _, _ := strings.Cut(payloadImage, ":")
	out, err := docker(ctx, "images", "--format", "{{.Tag}}", repo)
	if err != nil {
		return
	}
	for _, tag := range strings.Fields(out) {
		pid, err := strconv.Atoi(tag)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && filepath.Base(exe) == filepath.Base(os.Args[0]) {
			continue // another benchmark, still running
		}
		progress("removing the payload image of a benchmark that is gone: " + repo + ":" + tag)
		docker(ctx, "rmi", repo+":"+tag)
	}
}

// throughputRound starts each of cs (plain: the API on 2375) once, in the
// round's order, and once it is ready loads the payload into it and saves it
// back, through the port, with the docker CLI on the host.
func (s *setup) throughputRound(ctx context.Context, t *throughput, cs [2]contender, round, rounds int) error {
	for _, j := range rotation(len(cs), round) {
		c := cs[j]
		var load, save time.Duration
		var saved int64
		c.after = func(ctx context.Context, name string) error {
			host := "tcp://" + s.ip + ":2375"
			var err error
			if load, _, err = cli(ctx, host, "load", "-i", t.tar); err != nil {
				return fmt.Errorf("%s: %v", name, err)
			}
			if save, saved, err = cli(ctx, host, "save", payloadImage); err != nil {
				return fmt.Errorf("%s: %v", name, err)
			}
			return nil
		}
		if _, err := s.startOnce(ctx, c, round); err != nil {
			return err
		}
		t.load[j] = append(t.load[j], mbps(t.size, load))
		t.save[j] = append(t.save[j], mbps(saved, save))
		progress(fmt.Sprintf("round %d/%d %-10s docker load %s (%.0f MB/s), docker save %s (%.0f MB/s, %d bytes)", round, rounds, c.id,
			ms(load), mbps(t.size, load), ms(save), mbps(saved, save), saved))
	}
	return nil
}

// cli runs the docker CLI on the host against host (DOCKER_HOST) and returns
// its wall time and the bytes it wrote on stdout, which are discarded.
func cli(ctx context.Context, host string, args ...string) (time.Duration, int64, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+host, "DOCKER_TLS_VERIFY=", "DOCKER_CONTEXT=")
	var out counter
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return d, int64(out), fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return d, int64(out), nil
}

// counter is an io.Writer that counts and discards.
type counter int64

func (c *counter) Write(p []byte) (int, error) {
	*c += counter(len(p))
	return len(p), nil
}

var _ io.Writer = (*counter)(nil)

// mbps is n bytes in d, in MB/s.
func mbps(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / 1e6 / d.Seconds()
}

// rows prints the table's rows of t: DinV's rate against the bare engine's,
// the ratio of the medians (the target: at least 0.97) and the median of the
// rounds' own ratios.
func (t *throughput) rows(w io.Writer) {
	row := func(what string, ab [2]rates) {
		var perRound rates
		for i := 0; i < len(ab[0]) && i < len(ab[1]); i++ {
			if ab[1][i] > 0 {
				perRound = append(perRound, ab[0][i]/ab[1][i])
			}
		}
		r, ok := "-", false
		if m := ab[1].median(); m > 0 && len(ab[0]) > 0 {
			r, ok = fmt.Sprintf("%.3f", ab[0].median()/m), ab[0].median() >= 0.97*m
		}
		paired := "-"
		if len(perRound) > 0 {
			paired = fmt.Sprintf("ratio %.3f", perRound.median())
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", what, ab[0].summary(), ab[1].summary(), r, paired, met(ok, ">= 0.97"))
	}
	size := fmt.Sprintf("%.0f MB", float64(t.size)/1e6)
	row("`docker load` of a "+size+" image through the TCP port (MB/s): DinV (activated) vs bare engine (its own TCP listener)", t.load)
	row("`docker save` of that image through the TCP port (MB/s): DinV (activated) vs bare engine (its own TCP listener)", t.save)
}
