package pki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"hash"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// Request is what Ensure works on.
type Request struct {
	Dir    string           // the certificate directory
	Verify bool             // -tlsverify: clients verified against ca.crt
	Key    KeySpec          // the kind of keys generated
	Hosts  []string         // what the server certificate must cover (ServerHosts)
	Now    func() time.Time // the clock; time.Now when nil
	Rand   io.Reader        // crypto/rand when nil
	DryRun bool             // -dry-run: read and decide only; Result says what a real start would write

	store store // the OS when nil
}

// Result says what Ensure found and did, for the log and the engine's flags.
type Result struct {
	Files     core.TLSFiles
	Generated []string // files written, in write order
	Kept      []string // files used as they were
	Reissued  string   // why docker.crt was re-issued ("" when it was not)
	Uncovered []string // hosts a user's docker.crt does not cover (not fixed)
	Expiring  bool     // a user's docker.crt expires within RenewBefore
	// ClientRefused says why the engine would refuse client certificates:
	// the docker-client.crt kept in the directory, or any, when no
	// certificate in ca.crt can sign one ("" when none is known refused).
	ClientRefused string

	// Under DryRun, what a real start would do.
	WouldGenerate    []string // files it would write, in write order
	WouldReissue     string   // why it would re-issue docker.crt ("" when it would not)
	WouldRollForward bool     // it would first complete an interrupted commit (.dinv-commit)
}

// serverAction is what happens to docker.crt and docker.key.
type serverAction int

const (
	serverKeep       serverAction = iota // check and use them (maybe re-issue)
	serverFromCA                         // issue them from ca.crt + ca-key.pem
	serverSelfSigned                     // -tls, nothing present: self-signed
)

// plan is what the presence rules decide from which files exist.
type plan struct {
	newCA     bool // generate ca.crt and ca-key.pem
	loadCA    bool // read ca.crt (and ca-key.pem when present)
	server    serverAction
	newClient bool // issue docker-client.crt and docker-client.key
}

// planFor applies the presence rules of -tls and -tlsverify to the set of
// files present. It is pure: the files' contents are checked later.
//
//   - docker.crt without docker.key, or the reverse: an error, always.
//   - -tls: both present, use them; both absent, issue them from ca.crt +
//     ca-key.pem when both are there, else self-sign them.
//   - -tlsverify: ca.crt + docker.crt + docker.key without ca-key.pem are
//     the user's: use them, generate nothing. Nothing present: generate all
//     six. ca.crt + ca-key.pem: issue whichever leaf pair is missing. Any
//     other set is an error listing what is present and what is missing.
func planFor(present map[string]bool, verify bool) (plan, error) {
	if err := bothOrNeither(present, ServerCertFile, ServerKeyFile); err != nil {
		return plan{}, err
	}
	hasServer, hasCA, hasCAKey := present[ServerCertFile], present[CACertFile], present[CAKeyFile]
	if !verify {
		switch {
		case hasServer:
			return plan{server: serverKeep, loadCA: hasCA && hasCAKey}, nil
		case hasCA && hasCAKey:
			return plan{server: serverFromCA, loadCA: true}, nil
		}
		// Both server files absent: self-signed, as issue 2 says; a lone
		// ca.crt or ca-key.pem is left alone.
		return plan{server: serverSelfSigned}, nil
	}
	none := true
	for _, f := range allFiles {
		none = none && !present[f]
	}
	switch {
	case none:
		return plan{newCA: true, server: serverFromCA, newClient: true}, nil
	case hasCA && hasCAKey:
		if err := bothOrNeither(present, ClientCertFile, ClientKeyFile); err != nil {
			return plan{}, err
		}
		p := plan{loadCA: true, server: serverKeep, newClient: !present[ClientCertFile]}
		if !hasServer {
			p.server = serverFromCA
		}
		return p, nil
	case hasCA && hasServer && !hasCAKey:
		return plan{loadCA: true, server: serverKeep}, nil
	}
	return plan{}, incomplete(present, "-tlsverify needs ca.crt + docker.crt + docker.key, or ca.crt + ca-key.pem to issue the rest from, or an empty directory to generate all six")
}

func bothOrNeither(present map[string]bool, a, b string) error {
	if present[a] != present[b] {
		return incomplete(present, fmt.Sprintf("%s and %s go together", a, b))
	}
	return nil
}

// incomplete is the error for a partial set: what is present, what is missing.
func incomplete(present map[string]bool, rule string) error {
	var have, miss []string
	for _, f := range allFiles {
		if present[f] {
			have = append(have, f)
		} else {
			miss = append(miss, f)
		}
	}
	return core.Usagef("incomplete certificate set: present %s; missing %s (%s)",
		strings.Join(have, ", "), strings.Join(miss, ", "), rule)
}

// decision is a plan with the files read and checked: what to write, what
// to keep, what to report.
type decision struct {
	dir    string
	ca     *pair               // the CA that signs new leaves (nil when none is needed)
	roots  []*x509.Certificate // ca.crt's certificates, when read
	old    *pair               // docker.crt and docker.key as they are, when re-issued
	plan   plan
	reason string    // re-issue docker.crt, and why
	files  []newFile // what mint made and checked, in write order
	seen   hash.Hash // what the decision was made on: which files, their bytes
	result Result
}

func (d *decision) path(name string) string { return filepath.Join(d.dir, name) }

// saw records a file the decision read.
func (d *decision) saw(name string, data ...[]byte) {
	fmt.Fprintf(d.seen, "%s %d\n", name, len(data))
	for _, b := range data {
		fmt.Fprintf(d.seen, "%d\n", len(b))
		d.seen.Write(b)
	}
}

// sameInputs reports whether d and o were decided on the same files and
// bytes, and so are the same decision.
func (d *decision) sameInputs(o *decision) bool {
	return bytes.Equal(d.seen.Sum(nil), o.seen.Sum(nil))
}

// writes reports whether the decision needs anything written.
func (d *decision) writes() bool {
	return d.plan.newCA || d.plan.server != serverKeep || d.plan.newClient || d.reason != ""
}

// decide reads the directory and checks what is there, without writing.
func decide(req *Request, now time.Time) (*decision, listing, error) {
	l, err := scan(req.Dir)
	if err != nil {
		return nil, l, err
	}
	p, err := planFor(l.present, req.Verify)
	if err != nil {
		return nil, l, errors.Wrapf(err, "check %s", req.Dir)
	}
	d := &decision{dir: req.Dir, plan: p, seen: sha256.New()}
	for _, f := range allFiles {
		if l.present[f] {
			d.saw("present " + f)
		}
	}
	if p.loadCA {
		if err := d.loadCA(l.present[CAKeyFile]); err != nil {
			return nil, l, err
		}
	}
	if p.server == serverKeep {
		if err := d.checkServer(req, now, l.present[CACertFile]); err != nil {
			return nil, l, err
		}
	}
	switch {
	case req.Verify && !p.newClient && l.present[ClientCertFile]:
		d.result.Kept = append(d.result.Kept, ClientCertFile, ClientKeyFile)
		d.checkClient(now)
	case req.Verify && !p.newClient && !signsClients(d.roots, now):
		d.result.ClientRefused = d.path(CACertFile) + ": no certificate in it can sign a client certificate the engine accepts " +
			"(none is a CA valid now with the certSign key usage and an extended key usage allowing clientAuth): every client will be refused"
	}
	return d, l, nil
}

// signsClients reports whether a certificate in roots could be the CA of
// a client certificate the engine accepts: valid at now, allowed to sign
// certificates (as x509's CheckSignatureFrom requires) and to certify
// clientAuth. A check of what no file shows the verifier; it only warns.
func signsClients(roots []*x509.Certificate, now time.Time) bool {
	for _, c := range roots {
		ca := !(c.Version == 3 && !c.BasicConstraintsValid || c.BasicConstraintsValid && !c.IsCA)
		sign := c.KeyUsage == 0 || c.KeyUsage&x509.KeyUsageCertSign != 0
		valid := !now.Before(c.NotBefore) && !now.After(c.NotAfter)
		if ca && sign && valid && allowsUsage(c, x509.ExtKeyUsageClientAuth) {
			return true
		}
	}
	return false
}

// allowsUsage reports whether c's extended key usages allow u, as the
// verifier reads them along a chain.
func allowsUsage(c *x509.Certificate, u x509.ExtKeyUsage) bool {
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		return true
	}
	for _, e := range c.ExtKeyUsage {
		if e == u || e == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

// loadCA reads ca.crt, every certificate in it (a bundle may hold several
// CAs), and ca-key.pem with it when dinv owns the CA.
func (d *decision) loadCA(withKey bool) error {
	if withKey {
		ca, rest, err := loadPair(d.dir, CACertFile, CAKeyFile)
		if err != nil {
			return err
		}
		d.ca, d.roots = ca, append([]*x509.Certificate{ca.cert}, rest...)
		d.saw(CACertFile, ca.certPEM, ca.keyPEM)
		d.result.Kept = append(d.result.Kept, CACertFile, CAKeyFile)
		return nil
	}
	roots, data, err := loadCerts(d.path(CACertFile))
	if err != nil {
		return err
	}
	d.roots = roots
	d.saw(CACertFile, data)
	d.result.Kept = append(d.result.Kept, CACertFile)
	return nil
}

// checkServer checks docker.crt and docker.key and decides whether to
// re-issue them: only when dinv owns the CA that signed them, or made them
// self-signed. What is kept must be accepted by clients now.
func (d *decision) checkServer(req *Request, now time.Time, hasCA bool) error {
	srv, inter, err := loadPair(d.dir, ServerCertFile, ServerKeyFile)
	if err != nil {
		return err
	}
	d.saw(ServerCertFile, srv.certPEM, srv.keyPEM)
	roots, anchor, err := d.serverRoots(req.Verify, hasCA, srv.cert, inter)
	if err != nil {
		return err
	}
	// Signed by dinv's CA: verified at a moment the certificate is valid,
	// so that one expired or not yet valid is re-issued, not refused.
	owned := d.ca != nil && accepted(srv.cert, inter, []*x509.Certificate{d.ca.cert},
		x509.ExtKeyUsageServerAuth, within(srv.cert, now)) == nil
	// dinv's own self-signed -tls certificate: its clients trust that very
	// certificate, so it is renewed (same key, same names) only near expiry,
	// where keeping it would stop the host from starting at all.
	selfOwned := !req.Verify && !owned && ownSelfSigned(srv.cert)
	outside := uncovered(srv.cert, req.Hosts)
	expiring := now.Before(srv.cert.NotBefore) || srv.cert.NotAfter.Sub(now) < RenewBefore
	switch {
	case owned && expiring && d.ca.cert.NotAfter.After(srv.cert.NotAfter):
		d.old, d.reason = srv, "expiry"
	case owned && len(outside) > 0:
		d.old, d.reason = srv, "addresses"
	case selfOwned && expiring:
		d.old, d.reason = srv, "expiry"
	default:
		if err := accepted(srv.cert, inter, roots, x509.ExtKeyUsageServerAuth, now); err != nil {
			return refused(d.path(ServerCertFile), "clients", srv.cert, err, now, anchor)
		}
		d.result.Uncovered = outside
		d.result.Expiring = srv.cert.NotAfter.Sub(now) < RenewBefore
		d.result.Kept = append(d.result.Kept, ServerCertFile, ServerKeyFile)
	}
	return nil
}

// serverRoots is what the engine's clients trust docker.crt by, and the
// file that names it in errors.
//
// With -tlsverify, ca.crt: the CA the clients are given. With -tls, the top
// of docker.crt's chain when it is self-signed (dinv's own -tls
// certificate, or a chain up to its root: it names its anchor, and a lone
// ca.crt beside it is left alone, as when dinv self-signs); else ca.crt
// when present; else the top of the chain, as for a client given that
// certificate to trust (Go accepts a leaf found among its roots).
func (d *decision) serverRoots(verify, hasCA bool, leaf *x509.Certificate, inter []*x509.Certificate) ([]*x509.Certificate, string, error) {
	if verify {
		return d.roots, d.path(CACertFile), nil
	}
	top := leaf
	if len(inter) > 0 {
		top = inter[len(inter)-1]
	}
	if selfSigned(top) || !hasCA {
		return []*x509.Certificate{top}, d.path(ServerCertFile), nil
	}
	if d.roots == nil {
		roots, data, err := loadCerts(d.path(CACertFile))
		if err != nil {
			return nil, "", err
		}
		d.roots = roots
		d.saw(CACertFile, data)
	}
	return d.roots, d.path(CACertFile), nil
}

// checkClient verifies a docker-client.crt kept in the directory as the
// engine verifies its clients, against ca.crt. A refusal is reported in
// Result.ClientRefused (the stage warns), not an error: the engine does not
// use that file, and its users may hold other certificates of the CA.
func (d *decision) checkClient(now time.Time) {
	cl, inter, err := loadPair(d.dir, ClientCertFile, ClientKeyFile)
	if err == nil {
		d.saw(ClientCertFile, cl.certPEM, cl.keyPEM)
		if verr := accepted(cl.cert, inter, d.roots, x509.ExtKeyUsageClientAuth, now); verr != nil {
			err = refused(d.path(ClientCertFile), "the engine", cl.cert, verr, now, d.path(CACertFile))
		}
	}
	if err != nil {
		d.result.ClientRefused = err.Error()
	}
}

// mint generates what the decision calls for, in write order (the CA
// first, then the server pair, then the client pair), into d.files. Each
// leaf is verified as its peers will verify it before anything is written.
func (d *decision) mint(is issuer, hosts []string) error {
	var files []newFile
	add := func(certName, keyName string, p *pair) {
		files = append(files,
			newFile{name: keyName, data: p.keyPEM, perm: 0o600},
			newFile{name: certName, data: p.certPEM, perm: 0o644})
	}
	if d.plan.newCA {
		ca, err := is.issue(roleCA, nil, nil)
		if err != nil {
			return errors.Wrap(err, "generate CA")
		}
		d.ca, d.roots = ca, []*x509.Certificate{ca.cert}
		add(CACertFile, CAKeyFile, ca)
	}
	if d.plan.server != serverKeep || d.reason != "" {
		var srv *pair
		var err error
		switch {
		case d.plan.server == serverSelfSigned:
			srv, err = is.issue(roleSelfSignedServer, hosts, nil)
		case d.reason != "" && d.old != nil:
			srv, err = d.reissue(is, hosts)
		default:
			srv, err = is.issue(roleServer, hosts, d.ca)
		}
		if err != nil {
			return errors.Wrap(err, "generate server certificate")
		}
		if err := d.checkIssuedServer(srv, hosts, is.now); err != nil {
			return err
		}
		if d.old != nil && srv.key == d.old.key {
			files = append(files, newFile{name: ServerCertFile, data: srv.certPEM, perm: 0o644})
		} else {
			add(ServerCertFile, ServerKeyFile, srv)
		}
	}
	if d.plan.newClient {
		cl, err := is.issue(roleClient, nil, d.ca)
		if err != nil {
			return errors.Wrap(err, "generate client certificate")
		}
		if err := accepted(cl.cert, nil, d.roots, x509.ExtKeyUsageClientAuth, is.now); err != nil {
			return badFile(d.path(CACertFile), "cannot issue a docker-client.crt the engine accepts: %v", err)
		}
		add(ClientCertFile, ClientKeyFile, cl)
	}
	d.files = files
	return nil
}

// checkIssuedServer verifies a server certificate dinv made as clients will:
// trusting ca.crt (itself when self-signed), for every host it must cover.
// A CA brought with its key that cannot issue one (not a CA, a key usage
// without certSign, an extended key usage without serverAuth) is refused
// here, naming ca.crt, before anything is written.
func (d *decision) checkIssuedServer(srv *pair, hosts []string, now time.Time) error {
	roots := []*x509.Certificate{srv.cert}
	if d.ca != nil {
		roots = d.roots
	}
	if err := accepted(srv.cert, nil, roots, x509.ExtKeyUsageServerAuth, now); err != nil {
		if d.ca != nil {
			return badFile(d.path(CACertFile), "cannot issue a docker.crt clients accept: %v", err)
		}
		return errors.Wrap(err, "check the self-signed server certificate")
	}
	for _, h := range hosts {
		if err := srv.cert.VerifyHostname(h); err != nil {
			return errors.Wrapf(err, "check the new server certificate for %s", h)
		}
	}
	return nil
}

// reissue re-issues docker.crt from dinv's CA.
//
// Several DinV hosts may share one certificate directory (a /certs volume),
// each re-issuing the one docker.crt when it misses its own addresses. The
// new certificate covers what the current one covers as well as hosts, so a
// host re-issuing it never drops another host's addresses (each re-issue is
// decided under the lock on the docker.crt the previous one wrote).
//
// It keeps docker.key when that is a key of the configured kind: then only
// docker.crt changes, in a single rename, and an engine reading the two files
// while another host re-issues them never gets a certificate with the key of
// another. A key of another kind (-key-type changed) is replaced.
func (d *decision) reissue(is issuer, hosts []string) (*pair, error) {
	var key crypto.Signer
	if is.fits(d.old.key) {
		key = d.old.key
	}
	role := roleServer
	if d.ca == nil { // dinv's own self-signed certificate
		role = roleSelfSignedServer
	}
	return is.issueFor(role, withCovered(d.old.cert, hosts), d.ca, key)
}

// ownSelfSigned reports whether c is a self-signed server certificate dinv
// made (-tls with nothing given), as opposed to one a user brought.
func ownSelfSigned(c *x509.Certificate) bool {
	return c.Subject.CommonName == "DinV server" && len(c.Subject.Organization) == 1 &&
		c.Subject.Organization[0] == "DinV" && bytes.Equal(c.RawIssuer, c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
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
func Ensure(ctx context.Context, req Request) (*Result, error) {
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
			if d, err = commitLocked(&req, st, is, d); err != nil {
				return nil, err
			}
		}
	}
	d.result.Files = tlsFiles(&req)
	return &d.result, nil
}

// tlsFiles are the files the engine serves TLS with.
func tlsFiles(req *Request) core.TLSFiles {
	f := core.TLSFiles{
		ServerCert: filepath.Join(req.Dir, ServerCertFile),
		ServerKey:  filepath.Join(req.Dir, ServerKeyFile),
	}
	if req.Verify {
		f.CACert = filepath.Join(req.Dir, CACertFile)
	}
	return f
}

// dryRun decides as a real start would, minting in memory what it would
// write to verify it, and reports it: no lock, no directory made, no
// journal rolled forward, no temp file removed, nothing written.
func dryRun(req *Request, is issuer) (*Result, error) {
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
	d.result.Files = tlsFiles(req)
	return &d.result, nil
}

// commitLocked, with the lock held, finishes a commit a killed run left half
// done, decides again on what is there now and writes what that decision
// calls for, after removing leftover temp files. pre is the decision made
// before the lock, its files minted: when the directory still holds what it
// was made on, its files are written as they are.
func commitLocked(req *Request, st store, is issuer, pre *decision) (*decision, error) {
	if err := st.rollForward(req.Dir); err != nil {
		return nil, err
	}
	d, l, err := decide(req, is.now)
	if err != nil {
		return nil, err
	}
	if pre != nil && pre.files != nil && pre.sameInputs(d) {
		d = pre
	}
	if d.writes() && d.files == nil {
		if err := d.mint(is, req.Hosts); err != nil {
			return nil, err
		}
	}
	if err := st.clean(req.Dir, l.temps); err != nil {
		return nil, err
	}
	if !d.writes() {
		return d, nil
	}
	if err := st.commit(req.Dir, d.files); err != nil {
		if notWritable(err) {
			return nil, notWritableErr(req.Dir, d, err)
		}
		return nil, err
	}
	for _, f := range d.files {
		d.result.Generated = append(d.result.Generated, f.name)
	}
	d.result.Reissued = d.reason
	return d, nil
}

// missing names the files the decision would write.
func (d *decision) missing() []string {
	var out []string
	if d.plan.newCA {
		out = append(out, CACertFile, CAKeyFile)
	}
	if d.plan.server != serverKeep || d.reason != "" {
		out = append(out, ServerCertFile, ServerKeyFile)
	}
	if d.plan.newClient {
		out = append(out, ClientCertFile, ClientKeyFile)
	}
	return out
}

// notWritableErr explains a directory dinv must write to but cannot.
func notWritableErr(dir string, d *decision, err error) error {
	for errors.Unwrap(err) != nil {
		err = errors.Unwrap(err)
	}
	return errors.Errorf("certificate directory %s is not writable (%v): cannot generate %s; mount it read-write, or bring the certificates",
		dir, err, strings.Join(d.missing(), ", "))
}
