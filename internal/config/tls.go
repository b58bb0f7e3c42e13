package config

import (
	"fmt"

	"github.com/dinv/dinv/core"
)

// userTLS is the TLS mode the user's engine settings make, as dockerd reads
// them: --tlsverify given at all turns TLS on (verifying clients or not);
// else --tls alone means verifying clients too (dockerd sets TLSVerify from
// TLS when --tlsverify is not given). nil when the user gives neither.
func (r *resolver) userTLS() (*core.Setting[core.TLSMode], error) {
	tls, verify := r.userValue("tls"), r.userValue("tlsverify")
	switch {
	case verify != nil:
		on, err := parseBool(verify.last())
		if err != nil {
			return nil, core.Usagef("%s: %v", verify.from, err)
		}
		if tls != nil {
			if t, err := parseBool(tls.last()); err != nil || !t {
				return nil, core.Usagef("%s contradicts %s: --tlsverify turns TLS on", tls.from, verify.from)
			}
		}
		if on {
			return &core.Setting[core.TLSMode]{Value: core.TLSVerify, From: verify.from}, nil
		}
		return &core.Setting[core.TLSMode]{Value: core.TLSServer, From: verify.from}, nil
	case tls != nil:
		on, err := parseBool(tls.last())
		if err != nil {
			return nil, core.Usagef("%s: %v", tls.from, err)
		}
		if on {
			return &core.Setting[core.TLSMode]{Value: core.TLSVerify, From: tls.from}, nil
		}
		return &core.Setting[core.TLSMode]{Value: core.TLSOff, From: tls.from}, nil
	}
	return nil, nil
}

// tls resolves the TLS mode: dinv's choice and the user's engine settings
// must agree (an engine setting that weakens dinv's TLS is refused, as is
// one that asks for more); either alone is the mode served.
func (r *resolver) tls() error {
	e := &r.cfg.Engine
	user, err := r.userTLS()
	if err != nil {
		return err
	}
	if e.Exact {
		e.TLS = core.Setting[core.TLSMode]{From: core.Source{Kind: core.FromEngine}}
		if user != nil {
			e.TLS = *user
		}
		if r.env(EnvCertDir) != "" {
			r.cfg.Certs = core.TLSVerify // made as docker:dind makes them, for ARGS to name
		}
		return nil
	}
	if r.f.Local {
		if user != nil && user.Value != core.TLSOff {
			return core.Usagef("%s contradicts -local: -local serves no TCP listener, so TLS has nothing to secure", user.From)
		}
		e.TLS = core.Setting[core.TLSMode]{From: r.flag("local")}
		if r.dinvTLS != nil {
			r.warnings = append(r.warnings, fmt.Sprintf("%s has no effect with -local: no TCP listener, no certificates", r.dinvTLS.From))
		}
		return nil
	}
	switch {
	case r.dinvTLS != nil && user != nil && user.Value != r.dinvTLS.Value:
		return core.Usagef("%s contradicts %s: one asks for %s, the other for %s; give one",
			user.From, r.dinvTLS.From, describe(user.Value), describe(r.dinvTLS.Value))
	case r.dinvTLS != nil && user != nil && user.From.InFile():
		e.TLS = *user // the same mode, which daemon.json gives the engine
	case r.dinvTLS != nil:
		e.TLS = *r.dinvTLS
	case user != nil:
		e.TLS = *user
	default:
		e.TLS = core.Setting[core.TLSMode]{From: core.Source{Kind: core.FromDefault}}
	}
	return nil
}

// tlsFiles resolves the TLS files: the user's, all of those the mode needs,
// or none (the pki stage's).
func (r *resolver) tlsFiles() error {
	e := &r.cfg.Engine
	get := func(name string) core.Setting[string] {
		if g := r.userValue(name); g != nil {
			return core.Setting[string]{Value: g.last(), From: g.from}
		}
		return core.Setting[string]{}
	}
	e.TLSCACert, e.TLSCert, e.TLSKey = get("tlscacert"), get("tlscert"), get("tlskey")
	if e.Exact {
		return nil // the engine's own defaults for what ARGS do not name
	}
	var named []core.Setting[string]
	for _, s := range []core.Setting[string]{e.TLSCACert, e.TLSCert, e.TLSKey} {
		if s.From.Explicit() {
			named = append(named, s)
		}
	}
	mode := e.TLS.Value
	if len(e.TCP()) == 0 {
		mode = core.TLSOff
	}
	// dockerd takes the TLS files of its command line only when its command
	// line turns TLS on (--tls or --tlsverify): with both in daemon.json,
	// only daemon.json's files count.
	tls, verify := r.userValue("tls"), r.userValue("tlsverify")
	if mode != core.TLSOff && tls != nil && verify != nil && tls.from.InFile() && verify.from.InFile() {
		files := []core.Setting[string]{e.TLSCert, e.TLSKey}
		if mode == core.TLSVerify {
			files = append(files, e.TLSCACert)
		}
		for _, s := range files {
			if !s.From.InFile() {
				return core.Usagef("%s and %s turn TLS on, and then the engine takes its TLS files from that file alone: "+
					"add tlscacert, tlscert and tlskey to it, or leave tls out of it (dinv then gives the engine its certificates)", tls.from, verify.from)
			}
		}
	}
	if len(named) == 0 {
		r.cfg.Certs = mode
		return nil
	}
	if mode == core.TLSOff {
		return core.Usagef("%s: the engine serves no TLS (add -tlsverify, or leave the file out)", named[0].From)
	}
	need := map[string]core.Setting[string]{"--tlscert": e.TLSCert, "--tlskey": e.TLSKey}
	if mode == core.TLSVerify {
		need["--tlscacert"] = e.TLSCACert
	}
	for _, flag := range []string{"--tlscacert", "--tlscert", "--tlskey"} {
		if s, ok := need[flag]; ok && !s.From.Explicit() {
			return core.Usagef("%s names some of the engine's TLS files but not %s: give all of them, or none (dinv makes them)", named[0].From, flag)
		}
	}
	r.cfg.Certs = core.TLSOff // the user's files: dinv makes none
	return nil
}

// describe says what a TLS mode serves, for a message.
func describe(m core.TLSMode) string {
	switch m {
	case core.TLSServer:
		return "TLS without client certificates"
	case core.TLSVerify:
		return "TLS with client certificates"
	}
	return "plain TCP"
}
