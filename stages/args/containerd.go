package args

import (
	"encoding/json"
	"path/filepath"
	"strings"

	"github.com/dinv/dinv/core"
)

// The engine's containerd, started by dinv (ArgRules.OwnContainerd).
//
// Without --containerd an engine starts a containerd of its own ("managed",
// moby's libcontainerd/supervisor) and waits until it answers. 26.1 spends
// about a second of its start there: it dials the new containerd at once,
// finds no socket yet (ENOENT), and its gRPC client tries again only after
// its reconnect backoff, 1 s (seen with strace: connect() ENOENT, containerd
// "successfully booted" 0.2 s later, the next connect() 1.007 s after the
// first). The engine's client of a containerd it is given dials the same
// way, so dinv does not race it: it starts containerd, waits until its socket
// accepts a connection (the engine stage), then starts the engine with
// --containerd. 20.10's and 28.5's clients retry a missing socket every
// 10 ms and never wait like this.
//
// containerd gets what the engine would give the containerd it manages: its
// configuration file (containerdConfig) in the same place, the same log
// level, the same environment; a data root made by either is the other's.

// ownContainerdSettings are the engine settings that shape the containerd
// the engine starts itself: when the user gives one, the engine keeps
// starting its own, as the user configured it.
var ownContainerdSettings = []string{"containerd", "cri-containerd", "log-level", "log-format"}

// rootlessContainerd tells the rootless engine's wrapper (images/rootless)
// to start the engine's containerd itself, inside rootlesskit's namespaces
// where it must live, and to start the engine once it serves; its value is
// containerd's log level.
const rootlessContainerd = "DINV_ROOTLESS_CONTAINERD"

// ownContainerd returns the containerd dinv starts before the engine, and
// whether it starts one: on a profile with ArgRules.OwnContainerd, unless
// the engine gets exactly the user's arguments (dinv dockerd ARGS) or is
// given a setting that shapes its containerd (ownContainerdSettings). For
// the rootless engine the command is the wrapper's to run (Env only).
func ownContainerd(cfg *core.Config, p *core.Profile) (core.Command, bool) {
	e := &cfg.Engine
	if !p.Args.OwnContainerd || e.Exact {
		return core.Command{}, false
	}
	for _, name := range ownContainerdSettings {
		if _, given := e.Given[name]; given {
			return core.Command{}, false
		}
	}
	level := "info" // the engine's default --log-level
	if e.Debug.Value {
		level = "debug"
	}
	if cfg.Rootless {
		return core.Command{Env: []string{rootlessContainerd + "=" + level}}, true
	}
	dir := filepath.Join(e.ExecRoot.Value, "containerd")
	socket := filepath.Join(dir, "containerd.sock")
	config := filepath.Join(dir, "containerd.toml")
	return core.Command{
		Args:   []string{"containerd", "--config=" + config, "--log-level=" + level},
		Files:  []core.File{{Path: config, Data: containerdConfig(e.DataRoot.Value, dir, socket)}},
		Serves: socket,
	}, true
}

// containerdConfig is the configuration the engine writes for the
// containerd it manages (moby 26.1 and 28.5, <exec root>/containerd/
// containerd.toml), less its empty sections: version 2 (containerd 2.x
// reads it, migrating, as it does the engine's), the root in the data root,
// the state and sockets in the exec root, the CRI plugin off.
func containerdConfig(dataRoot, dir, socket string) []byte {
	lines := []string{
		"# Written by dinv for the engine's containerd, as the engine writes it for its own.",
		"version = 2",
		"root = " + tomlString(filepath.Join(dataRoot, "containerd", "daemon")),
		"state = " + tomlString(filepath.Join(dir, "daemon")),
		`disabled_plugins = ["io.containerd.grpc.v1.cri"]`,
		"",
		"[grpc]",
		"  address = " + tomlString(socket),
		"  max_recv_message_size = 16777216",
		"  max_send_message_size = 16777216",
		"",
		"[debug]",
		"  address = " + tomlString(filepath.Join(dir, "containerd-debug.sock")),
		"",
	}
	return []byte(strings.Join(lines, "\n"))
}

// tomlString is s as a TOML basic string: a JSON string is one.
func tomlString(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}
