package swarm

import (
	"context"
	"strings"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/engineapi"
)

// engineAPI is the part of the Engine API the swarm stage uses: the narrow
// interface between the domain code and the engine (a fake in unit tests).
type engineAPI interface {
	// Node is this host's swarm membership (GET /info).
	Node(ctx context.Context) (nodeState, error)
	// Init creates a swarm with this host as its manager (POST /swarm/init).
	Init(ctx context.Context, listen, advertise string) error
	// Join joins the swarm that remote manages (POST /swarm/join).
	Join(ctx context.Context, listen, advertise, remote string, token core.Secret) error
	// Leave leaves the swarm, forced (POST /swarm/leave?force=true).
	Leave(ctx context.Context) error
	// Swarm is what a manager knows of its swarm (GET /swarm).
	Swarm(ctx context.Context) (cluster, error)
}

// nodeState is GET /info's Swarm.
type nodeState struct {
	ID             string // NodeID, "" outside a swarm
	Addr           string // NodeAddr
	State          string // LocalNodeState: inactive, pending, active, error, locked
	Manager        bool   // ControlAvailable: an active manager
	Error          string
	RemoteManagers []string // their addresses
	ClusterID      string   // managers only
}

// Member reports whether the host is in a swarm, in any state.
func (n nodeState) Member() bool { return n.State != "" && n.State != "inactive" }

// cluster is what GET /swarm says that the swarm stage needs.
type cluster struct {
	ID     string
	Tokens map[string]core.Secret // "manager", "worker"
	RootCA []byte                 // the root CA certificate, PEM: the swarm's identity
}

// apiEngine is engineAPI over the unix socket.
type apiEngine struct {
	c *engineapi.Client
}

// newEngine returns the engineAPI of the engine answering on socket.
func newEngine(socket string) engineAPI {
	return apiEngine{c: &engineapi.Client{Socket: socket}}
}

func (e apiEngine) Node(ctx context.Context) (nodeState, error) {
	var info struct {
		Swarm struct {
			NodeID           string
			NodeAddr         string
			LocalNodeState   string
			ControlAvailable bool
			Error            string
			RemoteManagers   []struct{ Addr string }
			Cluster          *struct{ ID string }
		}
	}
	if err := e.c.Do(ctx, "GET", "/info", nil, &info); err != nil {
		return nodeState{}, err
	}
	s := info.Swarm
	n := nodeState{ID: s.NodeID, Addr: s.NodeAddr, State: s.LocalNodeState, Manager: s.ControlAvailable, Error: s.Error}
	for _, m := range s.RemoteManagers {
		n.RemoteManagers = append(n.RemoteManagers, m.Addr)
	}
	if s.Cluster != nil {
		n.ClusterID = s.Cluster.ID
	}
	return n, nil
}

func (e apiEngine) Init(ctx context.Context, listen, advertise string) error {
	return e.c.Do(ctx, "POST", "/swarm/init", map[string]interface{}{
		"ListenAddr": listen, "AdvertiseAddr": advertise,
	}, nil)
}

func (e apiEngine) Join(ctx context.Context, listen, advertise, remote string, token core.Secret) error {
	return e.c.Do(ctx, "POST", "/swarm/join", map[string]interface{}{
		"ListenAddr": listen, "AdvertiseAddr": advertise,
		"RemoteAddrs": []string{remote}, "JoinToken": token.Value(),
	}, nil)
}

func (e apiEngine) Leave(ctx context.Context) error {
	return e.c.Do(ctx, "POST", "/swarm/leave?force=true", nil, nil)
}

func (e apiEngine) Swarm(ctx context.Context) (cluster, error) {
	var sw struct {
		ID         string
		JoinTokens struct{ Worker, Manager string }
		TLSInfo    struct{ TrustRoot string }
	}
	if err := e.c.Do(ctx, "GET", "/swarm", nil, &sw); err != nil {
		return cluster{}, err
	}
	return cluster{
		ID:     sw.ID,
		Tokens: map[string]core.Secret{"manager": core.Secret(sw.JoinTokens.Manager), "worker": core.Secret(sw.JoinTokens.Worker)},
		RootCA: []byte(sw.TLSInfo.TrustRoot),
	}, nil
}

// redact takes the token out of an error's text, should the engine ever
// quote it.
func redact(err error, token core.Secret) error {
	if err == nil || token == "" || !strings.Contains(err.Error(), token.Value()) {
		return err
	}
	var e *engineapi.Error
	if errors.As(err, &e) {
		c := *e
		c.Message = strings.ReplaceAll(c.Message, token.Value(), "REDACTED")
		return &c
	}
	return errors.New(strings.ReplaceAll(err.Error(), token.Value(), "REDACTED"))
}

// engineMessage is the engine's own words in err (its JSON "message"), or
// err's text, on one line.
func engineMessage(err error) string {
	var e *engineapi.Error
	if errors.As(err, &e) {
		return oneLine(e.Message)
	}
	return oneLine(err.Error())
}
