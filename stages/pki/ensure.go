package pki

import (
	"context"
	"crypto/rand"
	"io"
	"path/filepath"
	"time"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// Request is what Ensure works on.
type request struct {
	Dir    string           // the certificate directory
	Layout string           // its layout: "" or LayoutFlat, LayoutDind
	Verify bool             // -tlsverify: clients verified against ca.crt (server/ca.pem)
	Key    keySpec          // the kind of keys generated
	Hosts  []string         // what the server certificate must cover (ServerHosts)
	Now    func() time.Time // the clock; time.Now when nil
	Rand   io.Reader        // crypto/rand when nil
	DryRun bool             // -dry-run: read and decide only; Result says what a real start would write

	store store // the OS when nil
}

// Result says what Ensure found and did, for the log and the engine's flags.
type result struct {
	Files     core.TLSFiles
	Generated []string // files written, in write order (names relative to Dir)
	Kept      []string // files used as they were
	Reissued  string   // why the server certificate was re-issued ("" when it was not)
	Uncovered []string // hosts a user's server certificate does not cover (not fixed)
	Expiring  bool     // a user's server certificate expires within renewBefore
	// ClientRefused says why the engine would refuse client certificates:
	// the client certificate kept in the directory, or any, when no
	// certificate in the engine's CA file (ca.crt, server/ca.pem) can sign
	// one ("" when none is known refused).
	ClientRefused string
	// Replaced are files that were there and are written anew (under
	// DryRun: would be), and ReplaceReason why: in docker:dind's layout,
	// files left from another CA.
	Replaced      []string
	ReplaceReason string

	// Under DryRun, what a real start would do.
	WouldGenerate    []string // files it would write, in write order
	WouldReissue     string   // why it would re-issue the server certificate ("" when it would not)
	WouldRollForward bool     // it would first complete an interrupted commit (.dinv-commit)
}

// Ensure makes the certificate directory hold what the mode needs, under the
// presence rules of planFor, and returns the files the engine serves with.
//
// It reads and checks first, and writes only when something is missing or
// must be re-issued: then it mints what is needed in memory and verifies it,
// takes the directory's lock, reads again (another container may have
// written meanwhile) and writes each file whole. A user's file is never
// modified or removed; a server certificate is re-issued only when dinv
// holds the CA key that signed it. Under DryRun it only reads and decides.
func ensure(ctx context.Context, req request) (*result, error) {
	if req.Now == nil {
		req.Now = time.Now
	}
	if req.Rand == nil {
		req.Rand = rand.Reader
	}
	st := req.store
	if st == nil {
		st = osStore{}
	}
	lay, err := req.layout()
	if err != nil {
		return nil, err
	}
	now := req.Now()
	is := issuer{spec: req.Key, now: now, rand: req.Rand}
	if req.DryRun {
		return dryRun(&req, is)
	}
	// A commit journal means a commit in progress or one a killed run left
	// half done: what the directory holds now is read under the lock only,
	// once the journal is rolled forward. A cheap check on every start; the
	// second one sends a start whose reads met another's renames (an error
	// on a set in the middle of changing) onto the locked path too.
	journal := hasJournal(req.Dir)
	var d *decision
	var l listing
	if !journal {
		var err error
		if d, l, err = decide(&req, now); err != nil {
			if !hasJournal(req.Dir) {
				return nil, err
			}
			journal = true
		} else if d.writes() {
			// Minted and verified before the lock: a set clients would
			// refuse is refused with nothing written, not even the lock.
			if err := d.mint(is, req.Hosts); err != nil {
				return nil, err
			}
		}
	}
	if journal || d.writes() || len(l.temps) > 0 {
		unlock, err := st.lock(ctx, req.Dir)
		if err != nil && journal {
			// The journal cannot be rolled forward here (a read-only
			// directory): what is there decides, checked as always.
			var derr error
			if d, _, derr = decide(&req, now); derr != nil {
				return nil, derr
			}
		}
		switch {
		case err != nil && !d.writes():
			// Leftover temp files in a directory we cannot write: harmless.
		case err != nil && notWritable(err):
			return nil, notWritableErr(req.Dir, d, err)
		case err != nil:
			return nil, err
		default:
			defer unlock()
			if d, err = commitLocked(&req, st, is, d, lay); err != nil {
				return nil, err
			}
		}
	}
	d.result.Files = d.tlsFiles(req.Verify)
	return &d.result, nil
}

// dryRun decides as a real start would, minting in memory what it would
// write to verify it, and reports it: no lock, no directory made, no
// journal rolled forward, no temp file removed, nothing written.
func dryRun(req *request, is issuer) (*result, error) {
	journal := hasJournal(req.Dir)
	d, _, err := decide(req, is.now)
	if err != nil {
		if journal {
			return nil, errors.Wrapf(err, "%s records an interrupted commit a real start would complete before reading", filepath.Join(req.Dir, journalFile))
		}
		return nil, err
	}
	if d.writes() {
		if err := d.mint(is, req.Hosts); err != nil {
			return nil, err
		}
	}
	for _, f := range d.files {
		d.result.WouldGenerate = append(d.result.WouldGenerate, f.name)
	}
	d.result.WouldReissue = d.reason
	d.result.WouldRollForward = journal
	d.result.Files = d.tlsFiles(req.Verify)
	return &d.result, nil
}

// tlsFiles are the files the engine serves TLS with, and the client
// bundle when the directory holds one, once the decision is carried out.
func (d *decision) tlsFiles(verify bool) core.TLSFiles {
	lay := d.lay
	f := core.TLSFiles{ServerCert: d.path(lay.serverCert), ServerKey: d.path(lay.serverKey)}
	if verify {
		f.CACert = d.path(lay.engineCA())
	}
	if d.hasClient(verify) {
		f.ClientCA, f.ClientCert, f.ClientKey = d.path(lay.clientTrust()), d.path(lay.clientCert), d.path(lay.clientKey)
	}
	return f
}
