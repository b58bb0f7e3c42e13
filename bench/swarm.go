package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// The swarm and density rows: how long five DinV hosts started
// at once take to form a swarm, and what ten DinV hosts started at once on
// this machine cost.

// swarmRoles are the five hosts of the swarm row, in start order: one
// creates the swarm, two join as managers, two as workers; the tokens go
// through the /certs volume they share.
var swarmRoles = [][]string{
	{"-swarm-init"},
	{"-swarm-join", "dinv-bench-swarm-1", "-swarm-role", "manager"},
	{"-swarm-join", "dinv-bench-swarm-1", "-swarm-role", "manager"},
	{"-swarm-join", "dinv-bench-swarm-1"},
	{"-swarm-join", "dinv-bench-swarm-1"},
}

// swarmResults are the swarm and density measurements, one per round
// (memory: one per host and round).
type swarmResults struct {
	formed  samples // first docker run to all five Ready in docker node ls
	dense   samples // first docker run to all ten answering GET /_ping
	mem     [3]kib  // dinv, dockerd, containerd of each of the ten
	density int
}

// swarmRounds measures both rows rounds times, on a network of its own.
func (s *setup) swarmRounds(ctx context.Context, rounds, density int, subnet string) (swarmResults, error) {
	res := swarmResults{density: density}
	_, ipnet, err := net.ParseCIDR(subnet)
	if err != nil || ipnet.IP.To4() == nil {
		return res, fmt.Errorf("-swarm-subnet %s: not an IPv4 subnet", subnet)
	}
	network := "dinv-bench-swarm-net"
	docker(ctx, "network", "rm", network) // a leftover of an interrupted run
	if _, err := docker(ctx, "network", "create", "--subnet", subnet, network); err != nil {
		return res, err
	}
	defer docker(context.Background(), "network", "rm", network)
	addr := func(i int) string {
		ip := append(net.IP(nil), ipnet.IP.To4()...)
		ip[3] += byte(10 + i)
		return ip.String()
	}
	for r := 1; r <= rounds; r++ {
		d, err := s.formSwarm(ctx, network, addr)
		if err != nil {
			return res, err
		}
		res.formed = append(res.formed, d)
		progress(fmt.Sprintf("swarm round %d/%d: five hosts Ready after %s", r, rounds, ms(d)))
		d, mem, err := s.startMany(ctx, network, addr, density)
		if err != nil {
			return res, err
		}
		res.dense = append(res.dense, d)
		for i := range mem {
			res.mem[i] = append(res.mem[i], mem[i]...)
		}
		progress(fmt.Sprintf("density round %d/%d: %d hosts answering after %s", r, rounds, density, ms(d)))
	}
	return res, nil
}

// startAll runs the containers whose docker run arguments are args, all at
// once, and returns when every docker run has returned.
func startAll(ctx context.Context, args [][]string) error {
	errs := make([]error, len(args))
	var wg sync.WaitGroup
	for i, a := range args {
		wg.Add(1)
		go func(i int, a []string) {
			defer wg.Done()
			_, errs[i] = docker(ctx, a...)
		}(i, a)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// removeAll removes the containers and volumes named.
func removeAll(names, volumes []string) {
	docker(context.Background(), append([]string{"rm", "-f", "-v"}, names...)...)
	if len(volumes) > 0 {
		docker(context.Background(), append([]string{"volume", "rm"}, volumes...)...)
	}
}

// formSwarm starts the five hosts of swarmRoles at once and returns the time
// from the first docker run to all five Ready in GET /nodes on the first.
func (s *setup) formSwarm(ctx context.Context, network string, addr func(int) string) (time.Duration, error) {
	certs := "dinv-bench-swarm-certs"
	var names []string
	var args [][]string
	for i, role := range swarmRoles {
		name := fmt.Sprintf("dinv-bench-swarm-%d", i+1)
		names = append(names, name)
		a := []string{"run", "-d", "--name", name, "--hostname", name, "--network", network, "--ip", addr(i),
			"-v", "/var/lib/docker", "-v", certs + ":/certs"}
		args = append(args, append(append(append(a, s.privileges...), s.image), role...))
	}
	removeAll(names, []string{certs})
	defer removeAll(names, []string{certs})
	start := time.Now()
	if err := startAll(ctx, args); err != nil {
		return 0, err
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	url := "http://" + addr(0) + ":2375/nodes"
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	checked := time.Now()
	for {
		if n, err := readyNodes(wctx, hc, url); err == nil && n == len(swarmRoles) {
			return time.Since(start), nil
		}
		if time.Since(checked) > time.Second {
			checked = time.Now()
			for _, name := range names {
				if err := stillRunning(ctx, name); err != nil {
					logs, _ := docker(ctx, "logs", "--tail", "5", name)
					return 0, fmt.Errorf("%s: %v\n%s", name, err, logs)
				}
			}
		}
		select {
		case <-wctx.Done():
			return 0, fmt.Errorf("the swarm of five is not Ready after 3 minutes")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// readyNodes counts the nodes GET /nodes calls ready.
func readyNodes(ctx context.Context, hc *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		io.Copy(io.Discard, resp.Body)
		return 0, fmt.Errorf("GET %s: %d", url, resp.StatusCode)
	}
	var nodes []struct{ Status struct{ State string } }
	if err := json.NewDecoder(resp.Body).Decode(&nodes); err != nil {
		return 0, err
	}
	n := 0
	for _, nd := range nodes {
		if nd.Status.State == "ready" {
			n++
		}
	}
	return n, nil
}

// startMany starts n plain DinV hosts at once and returns the time from the
// first docker run to all n answering GET /_ping, then, once they have
// settled, the resident memory of each one's dinv, dockerd and containerd.
func (s *setup) startMany(ctx context.Context, network string, addr func(int) string, n int) (time.Duration, [3]kib, error) {
	var mem [3]kib
	var names []string
	var args [][]string
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("dinv-bench-dense-%d", i+1)
		names = append(names, name)
		a := []string{"run", "-d", "--name", name, "--network", network, "--ip", addr(20 + i), "-v", "/var/lib/docker"}
		args = append(args, append(append(a, s.privileges...), s.image))
	}
	removeAll(names, nil)
	defer removeAll(names, nil)
	start := time.Now()
	if err := startAll(ctx, args); err != nil {
		return 0, mem, err
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			wctx, cancel := context.WithTimeout(ctx, s.timeout)
			defer cancel()
			_, errs[i] = waitReady(wctx, addr(20+i)+":2375", "", func() error { return stillRunning(ctx, names[i]) })
		}(i)
	}
	wg.Wait()
	took := time.Since(start)
	for i, err := range errs {
		if err != nil {
			return 0, mem, fmt.Errorf("%s: %v", names[i], err)
		}
	}
	time.Sleep(2 * time.Second) // every dinv is only supervising now
	for _, name := range names {
		d, e, c, err := rss(ctx, name)
		if err != nil {
			return 0, mem, err
		}
		mem[0], mem[1], mem[2] = append(mem[0], d), append(mem[1], e), append(mem[2], c)
	}
	return took, mem, nil
}

// printSwarm writes the swarm and density table.
func printSwarm(w io.Writer, r swarmResults, rounds int) {
	fmt.Fprintf(w, "\nSwarm and density, %d rounds (all containers of a round started at once, each its own docker run):\n\n", rounds)
	fmt.Fprintln(w, "| measurement | median (min-max) |")
	fmt.Fprintln(w, "|---|---|")
	fmt.Fprintf(w, "| five DinV hosts (one -swarm-init, two manager and two worker -swarm-join): first docker run to all five Ready in docker node ls | %s |\n", r.formed.summary())
	fmt.Fprintf(w, "| %d DinV hosts: first docker run to all %d answering GET /_ping | %s |\n", r.density, r.density, r.dense.summary())
	fmt.Fprintf(w, "| %d DinV hosts: resident memory per host, dinv (PID 1) | %s |\n", r.density, r.mem[0].summary())
	fmt.Fprintf(w, "| %d DinV hosts: resident memory per host, dockerd | %s |\n", r.density, r.mem[1].summary())
	fmt.Fprintf(w, "| %d DinV hosts: resident memory per host, containerd | %s |\n", r.density, r.mem[2].summary())
}
