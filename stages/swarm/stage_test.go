package swarm

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dinv/dinv/core"
)

// runningEngine is a core.Engine that runs until the test ends.
type runningEngine struct{}

func (runningEngine) Done() <-chan struct{}       { return nil }
func (runningEngine) ExitCode() int               { return 0 }
func (runningEngine) Reason() string              { return "" }
func (runningEngine) Signal(syscall.Signal) error { return nil }
func (runningEngine) Stop()                       {}

func TestStage(t *testing.T) {
	for _, tc := range []struct {
		name    string
		swarm   core.Swarm
		engine  core.Engine
		ipvs    bool
		want    string // a part of the error; "" for none
		logged  []string
		silent  []string // what the log must not hold
		calls   int      // engine calls
		request []string // what Requires names
	}{
		{name: "without -swarm-init or -swarm-join the stage does nothing",
			engine: runningEngine{}, logged: []string{"[DEBUG] dinv.swarm: no swarm"}, silent: []string{"no IPVS"}},
		{name: "a swarm host without IPVS is told once what works",
			swarm: core.Swarm{Init: true, Timeout: time.Minute}, engine: runningEngine{},
			logged: []string{"[WARN]  dinv.swarm: this kernel has no IPVS (/proc/net/ip_vs): swarm service VIPs and the ingress routing mesh will not work here; services with --endpoint-mode dnsrr and ports published with mode=host do", "swarm created"},
			calls:  4, request: []string{"ready"}},
		{name: "a swarm host with IPVS is told nothing",
			swarm: core.Swarm{Init: true, Timeout: time.Minute}, engine: runningEngine{}, ipvs: true,
			logged: []string{"swarm created"}, silent: []string{"no IPVS"}, calls: 4, request: []string{"ready"}},
		{name: "without an engine it fails",
			swarm: core.Swarm{Join: "m1", Timeout: time.Minute}, want: "no engine is running", request: []string{"ready"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			ipvs := filepath.Join(t.TempDir(), "ip_vs")
			if tc.ipvs {
				ipvs = t.TempDir()
			}
			st := &stage{engine: func(string) engineAPI { return w.eng }, dial: w.dial.dial, clock: w.clock, ipvs: ipvs}
			s := &core.State{Config: core.Config{Swarm: tc.swarm, CertDir: t.TempDir(),
				Engine: core.EngineConfig{DataRoot: core.Setting[string]{Value: t.TempDir()}}},
				Engine: tc.engine, ContainerIP: net.ParseIP("10.0.0.2")}
			err := st.Run(core.WithLog(context.Background(), w.l), s)
			if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
			for _, l := range tc.logged {
				if !strings.Contains(w.log.String(), l) {
					t.Errorf("log lacks %q:\n%s", l, w.log)
				}
			}
			for _, l := range tc.silent {
				if strings.Contains(w.log.String(), l) {
					t.Errorf("log holds %q:\n%s", l, w.log)
				}
			}
			if strings.Count(w.log.String(), "no IPVS") > 1 {
				t.Errorf("the IPVS warning more than once:\n%s", w.log)
			}
			if len(w.eng.calls) != tc.calls {
				t.Errorf("engine calls %v, want %d", w.eng.calls, tc.calls)
			}
			if got := st.Requires(&s.Config); strings.Join(got, ",") != strings.Join(tc.request, ",") {
				t.Errorf("Requires = %v, want %v", got, tc.request)
			}
		})
	}
}

// The stage in a stage list: after ready, which it needs once a swarm is
// asked for; its Validate runs with the list's; -dry-run skips it.
func TestStageInTheList(t *testing.T) {
	var _ core.DryRunSkipper = New().(core.DryRunSkipper)
	cat := core.NewCatalogue(named("engine"), named("ready"), New())
	cfg := &core.Config{Swarm: core.Swarm{Join: "m1", Role: "worker", Timeout: time.Minute}}
	if _, err := cat.Resolve([]string{"engine", "ready", "swarm"}, "", cfg, nil); err != nil {
		t.Errorf("after ready: %v", err)
	}
	_, err := cat.Resolve([]string{"engine", "swarm"}, "", cfg, nil)
	if err == nil || !strings.Contains(err.Error(), `stage "swarm" needs stage "ready", which is not in the list`) {
		t.Errorf("without ready: %v", err)
	}
	if _, err := cat.Resolve([]string{"engine", "swarm"}, "", &core.Config{Swarm: core.Swarm{Role: "worker", Timeout: time.Minute}}, nil); err != nil {
		t.Errorf("without ready or a swarm: %v", err)
	}
	if _, err := cat.Resolve([]string{"swarm"}, "", &core.Config{Swarm: core.Swarm{Role: "worker", Timeout: time.Minute}}, nil); err == nil ||
		!strings.Contains(err.Error(), `stage "swarm" needs the engine running`) {
		t.Errorf("with no engine: %v", err)
	}
	cfg.Swarm.Role = "boss"
	if _, err := cat.Resolve([]string{"engine", "ready", "swarm"}, "", cfg, nil); err == nil || !core.IsUsage(err) || !strings.Contains(err.Error(), "-swarm-role") {
		t.Errorf("a bad role: %v", err)
	}
}

type namedStage string

func named(n string) core.Stage                           { return namedStage(n) }
func (n namedStage) Name() string                         { return string(n) }
func (namedStage) Run(context.Context, *core.State) error { return nil }

// Phase: the stage named engine starts it; ready needs it running.
func (n namedStage) Phase() core.Phase {
	switch n {
	case "engine":
		return core.Start
	case "ready":
		return core.Running
	}
	return core.Prepare
}

// The real Engine over a socket that answers as the engine does.
func TestAPIEngine(t *testing.T) {
	var joinBody map[string]interface{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /info", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ID":"x","Swarm":{"NodeID":"lxss","NodeAddr":"10.231.0.12","LocalNodeState":"active","ControlAvailable":true,"Error":"",
			"RemoteManagers":[{"NodeID":"a","Addr":"10.231.0.11:2377"},{"NodeID":"b","Addr":"10.231.0.12:2377"}],"Nodes":2,"Managers":2,
			"Cluster":{"ID":"li8e","Version":{"Index":10}}}}`)
	})
	mux.HandleFunc("GET /swarm", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]interface{}{"ID": "li8e",
			"JoinTokens": map[string]string{"Worker": workerA.Value(), "Manager": managerA.Value()},
			"TLSInfo":    map[string]string{"TrustRoot": string(rootA)}})
	})
	mux.HandleFunc("POST /swarm/join", func(w http.ResponseWriter, r *http.Request) {
		json.NewDecoder(r.Body).Decode(&joinBody)
		w.WriteHeader(400)
		io.WriteString(w, `{"message":"rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster"}`)
	})
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	defer srv.Close()

	e, ctx := newEngine(sock), context.Background()
	n, err := e.Node(ctx)
	want := nodeState{ID: "lxss", Addr: "10.231.0.12", State: "active", Manager: true, ClusterID: "li8e",
		RemoteManagers: []string{"10.231.0.11:2377", "10.231.0.12:2377"}}
	if err != nil || n.ID != want.ID || n.State != want.State || !n.Manager || n.ClusterID != want.ClusterID ||
		strings.Join(n.RemoteManagers, " ") != strings.Join(want.RemoteManagers, " ") {
		t.Errorf("Node = %+v, %v", n, err)
	}
	cl, err := e.Swarm(ctx)
	if err != nil || cl.Tokens["worker"] != workerA || cl.Tokens["manager"] != managerA || string(cl.RootCA) != string(rootA) || !sameSwarm(workerA, cl.RootCA) {
		t.Errorf("Swarm = %+v, %v", cl, err)
	}
	err = e.Join(ctx, "0.0.0.0:2377", "10.0.0.2", "10.0.0.9:2377", workerA)
	if classify(err) != wrongToken || strings.Contains(err.Error(), workerA.Value()) {
		t.Errorf("Join error = %v", err)
	}
	if joinBody["JoinToken"] != workerA.Value() || joinBody["ListenAddr"] != "0.0.0.0:2377" || joinBody["AdvertiseAddr"] != "10.0.0.2" {
		t.Errorf("join body %v", joinBody)
	}
	if addrs, _ := joinBody["RemoteAddrs"].([]interface{}); len(addrs) != 1 || addrs[0] != "10.0.0.9:2377" {
		t.Errorf("RemoteAddrs %v", joinBody["RemoteAddrs"])
	}
}
