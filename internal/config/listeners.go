package config

import (
	"net"
	"strconv"

	"github.com/dinv/dinv/core"
)

// listeners resolves where the engine listens.
func (r *resolver) listeners() error {
	e := &r.cfg.Engine
	tlsOn := e.TLS.Value != core.TLSOff
	var user []core.Listener
	var fromFile bool
	if g := r.userValue("host"); g != nil {
		fromFile = g.from.InFile()
		for _, v := range g.values {
			l, err := ParseHost(v, tlsOn)
			if err != nil {
				return core.Usagef("%s: %v", g.from, err)
			}
			if l.Proto == "fd" {
				return core.Usagef("%s: fd:// is how dinv hands its own sockets to the engine (-socket-activation)", g.from)
			}
			l.From = g.from
			user = appendListener(user, l)
		}
	}
	switch {
	case e.Exact && len(user) == 0:
		// dockerd listens on its default socket when no host is given.
		e.Listeners = []core.Listener{{Proto: "unix", Addr: defaultSocket, From: core.Source{Kind: core.FromEngine}}}
	case e.Exact || fromFile:
		if fromFile && r.f.Given["port"] {
			return core.Usagef("-port contradicts %s: the engine listens where the file says", user[0].From)
		}
		e.Listeners = user
	default:
		e.Listeners = r.dinvListeners(user)
	}
	if r.f.Local {
		for _, l := range e.Listeners {
			if l.Proto == "tcp" {
				return core.Usagef("%s contradicts -local: -local serves no TCP listener", l.From)
			}
		}
	}
	sock := e.Socket()
	if sock == "" {
		return core.Usagef("%s: no unix:// socket among the engine's hosts: dinv waits for the engine, and the health check asks it, on one (add unix://%s)",
			e.Listeners[0].From, defaultSocket)
	}
	if r.f.Given["socket"] && sock != r.f.Socket {
		return core.Usagef("-socket %s contradicts %s: name the engine's unix socket once", r.f.Socket, firstUnix(e.Listeners).From)
	}
	e.Activate = r.f.SocketActivation && !e.Exact && !fromFile && !r.cfg.Rootless && len(e.TCP()) > 0
	return nil
}

// dinvListeners are dinv's unix socket and TCP listener, with the user's
// hosts added: a user's unix socket replaces dinv's, a user's TCP address on
// dinv's port replaces dinv's.
func (r *resolver) dinvListeners(user []core.Listener) []core.Listener {
	e := &r.cfg.Engine
	var out []core.Listener
	hasUnix := false
	for _, l := range user {
		hasUnix = hasUnix || l.Proto == "unix"
	}
	if !hasUnix {
		from := r.flag("socket", r.f.Socket)
		out = append(out, core.Listener{Proto: "unix", Addr: r.f.Socket, From: from})
	}
	if !r.f.Local {
		port := r.f.Port
		from := r.flag("port", strconv.Itoa(port))
		if port == 0 {
			port = defaultPort
			if e.TLS.Value != core.TLSOff {
				port = defaultTLSPort
			}
		}
		own := core.Listener{Proto: "tcp", Addr: net.JoinHostPort("0.0.0.0", strconv.Itoa(port)), From: from}
		replaced := false
		for _, l := range user {
			if l.Proto == "tcp" && samePort(l.Addr, port) {
				replaced = true
			}
		}
		if !replaced {
			out = append(out, own)
		}
	}
	for _, l := range user {
		out = appendListener(out, l)
	}
	// dinv's unix socket first: the order says which one dinv uses.
	return unixFirst(out)
}

// appendListener adds l unless the list has that address already (dockerd
// drops duplicates).
func appendListener(list []core.Listener, l core.Listener) []core.Listener {
	for _, have := range list {
		if have.Proto == l.Proto && have.Addr == l.Addr {
			return list
		}
	}
	return append(list, l)
}

// unixFirst moves the first unix socket to the front, keeping the order otherwise.
func unixFirst(list []core.Listener) []core.Listener {
	for i, l := range list {
		if l.Proto == "unix" {
			out := append([]core.Listener{l}, list[:i]...)
			return append(out, list[i+1:]...)
		}
	}
	return list
}

func firstUnix(list []core.Listener) core.Listener {
	for _, l := range list {
		if l.Proto == "unix" {
			return l
		}
	}
	return core.Listener{}
}

func samePort(addr string, port int) bool {
	_, p, err := net.SplitHostPort(addr)
	return err == nil && p == strconv.Itoa(port)
}
