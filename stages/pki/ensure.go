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
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
)

// Request is what Ensure works on.
type Request struct {
	Dir    string           // the certificate directory
	Layout string           // its layout: "" or LayoutFlat, LayoutDind
	Verify bool             // -tlsverify: clients verified against ca.crt (server/ca.pem)
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
	Generated []string // files written, in write order (names relative to Dir)
	Kept      []string // files used as they were
	Reissued  string   // why the server certificate was re-issued ("" when it was not)
	Uncovered []string // hosts a user's server certificate does not cover (not fixed)
	Expiring  bool     // a user's server certificate expires within RenewBefore
	// ClientRefused says why the engine would refuse client certificates:
	// the client certificate kept in the directory, or any, when no
	// certificate in the engine's CA file (ca.crt, server/ca.pem) can sign
	// one ("" when none is known refused).
	ClientRefused string

	// Under DryRun, what a real start would do.
	WouldGenerate    []string // files it would write, in write order
	WouldReissue     string   // why it would re-issue the server certificate ("" when it would not)
	WouldRollForward bool     // it would first complete an interrupted commit (.dinv-commit)
}

// serverAction is what happens to the server pair (docker.crt and
// docker.key, server/cert.pem and server/key.pem).
type serverAction int

const (
	serverKeep       serverAction = iota // check and use them (maybe re-issue)
	serverFromCA                         // issue them from the CA pair
	serverSelfSigned                     // -tls, nothing present: self-signed
)

// plan is what the presence rules decide from which files exist.
type plan struct {
	newCA     bool // generate the CA pair
	loadCA    bool // read the CA certificate (and its key when present)
	server    serverAction
	newClient bool // issue the client pair
	// The dind layout: write server/ca.pem, client/ca.pem as copies of
	// the CA certificate (dinv owns the CA, the copy is missing).
	copyServerCA, copyClientCA bool
}

// planFor applies the presence rules of -tls and -tlsverify to the set of
// files present. It is pure: the files' contents are checked later.
//
//   - The server certificate without its key, or the reverse: an error, always.
//   - -tls: both present, use them; both absent, issue them from the CA
//     pair when both its files are there, else self-sign them. Nothing
//     else is read or written (no client files, no copies of the CA).
//   - -tlsverify: the flat rules (planFlat) or the dind rules (planDind).
func planFor(present map[string]bool, verify bool, lay layout) (plan, error) {
	if err := bothOrNeither(present, lay, lay.serverCert, lay.serverKey); err != nil {
		return plan{}, err
	}
	hasServer, hasCA, hasCAKey := present[lay.serverCert], present[lay.caCert], present[lay.caKey]
	switch {
	case verify && lay.name == LayoutDind:
		return planDind(present, lay)
	case verify:
		return planFlat(present, lay)
	case hasServer:
		return plan{server: serverKeep, loadCA: hasCA && hasCAKey}, nil
	case hasCA && hasCAKey:
		return plan{server: serverFromCA, loadCA: true}, nil
	}
	// Both server files absent: self-signed, as issue 2 says; a lone CA
	// certificate or key is left alone.
	return plan{server: serverSelfSigned}, nil
}

// planFlat is -tlsverify's rules for the six flat files: ca.crt +
// docker.crt + docker.key without ca-key.pem are the user's: use them,
// generate nothing. Nothing present: generate all six. ca.crt +
// ca-key.pem: issue whichever leaf pair is missing. Any other set is an
// error listing what is present and what is missing.
func planFlat(present map[string]bool, lay layout) (plan, error) {
	hasServer, hasCA, hasCAKey := present[lay.serverCert], present[lay.caCert], present[lay.caKey]
	switch {
	case none(present, lay):
		return plan{newCA: true, server: serverFromCA, newClient: true}, nil
	case hasCA && hasCAKey:
		if err := bothOrNeither(present, lay, lay.clientCert, lay.clientKey); err != nil {
			return plan{}, err
		}
		p := plan{loadCA: true, server: serverKeep, newClient: !present[lay.clientCert]}
		if !hasServer {
			p.server = serverFromCA
		}
		return p, nil
	case hasCA && hasServer && !hasCAKey:
		return plan{loadCA: true, server: serverKeep}, nil
	}
	return plan{}, incomplete(present, lay, "-tlsverify needs ca.crt + docker.crt + docker.key, or ca.crt + ca-key.pem to issue the rest from, or an empty directory to generate all six")
}

// planDind is -tlsverify's rules for docker:dind's layout, the flat ones
// with the CA's copies:
//
//   - Nothing present: generate all eight files.
//   - ca/cert.pem + ca/key.pem (dinv owns the CA): issue whichever leaf pair
//     is missing, and copy ca/cert.pem to server/ca.pem and client/ca.pem
//     where they are missing. The rest is used as it is.
//   - server/ca.pem + server/cert.pem + server/key.pem without ca/key.pem:
//     the user's certificates, used as they are; client/ holds all three
//     of its files or none; ca/cert.pem is left alone. Nothing is written.
//   - Any other set (a pair without its other half, ca/key.pem without
//     ca/cert.pem, ...): an error listing what is present and missing.
func planDind(present map[string]bool, lay layout) (plan, error) {
	if err := bothOrNeither(present, lay, lay.clientCert, lay.clientKey); err != nil {
		return plan{}, err
	}
	hasServer, hasCA, hasCAKey := present[lay.serverCert], present[lay.caCert], present[lay.caKey]
	switch {
	case none(present, lay):
		return plan{newCA: true, server: serverFromCA, newClient: true, copyServerCA: true, copyClientCA: true}, nil
	case hasCA && hasCAKey:
		p := plan{loadCA: true, server: serverKeep, newClient: !present[lay.clientCert],
			copyServerCA: !present[lay.serverCA], copyClientCA: !present[lay.clientCA]}
		if !hasServer {
			p.server = serverFromCA
		}
		return p, nil
	case !hasCAKey && hasServer && present[lay.serverCA]:
		if present[lay.clientCA] != present[lay.clientCert] {
			return plan{}, incomplete(present, lay, "client/ca.pem, client/cert.pem and client/key.pem go together: "+
				"without ca/key.pem dinv issues nothing, so client/ holds your client bundle or nothing")
		}
		return plan{server: serverKeep}, nil
	}
	return plan{}, incomplete(present, lay, "DOCKER_TLS_CERTDIR needs ca/cert.pem + ca/key.pem to issue the rest from, "+
		"or server/ca.pem + server/cert.pem + server/key.pem (your certificates, used as they are), or an empty directory to generate all eight")
}

// none reports whether none of the layout's files is present.
func none(present map[string]bool, lay layout) bool {
	for _, f := range lay.files {
		if present[f] {
			return false
		}
	}
	return true
}

func bothOrNeither(present map[string]bool, lay layout, a, b string) error {
	if present[a] != present[b] {
		return incomplete(present, lay, fmt.Sprintf("%s and %s go together", a, b))
	}
	return nil
}

// incomplete is the error for a partial set: what is present, what is missing.
func incomplete(present map[string]bool, lay layout, rule string) error {
	var have, miss []string
	for _, f := range lay.files {
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
	dir     string
	lay     layout
	present map[string]bool // which of the layout's files exist
	ca      *pair           // the CA that signs new leaves (nil when none is needed)
	// engine is what the engine verifies clients against (-tlsverify):
	// ca.crt; server/ca.pem, or the CA certificate it is copied from.
	engine anchor
	// trust is what clients trust the engine by (-tlsverify): ca.crt;
	// client/ca.pem, or the CA certificate it is copied from, or with the
	// user's certificates and no client/, server/ca.pem.
	trust  anchor
	old    *pair // the server pair as it is, when re-issued
	plan   plan
	reason string    // re-issue the server certificate, and why
	files  []newFile // what mint made and checked, in write order
	seen   hash.Hash // what the decision was made on: which files, their bytes
	result Result
}

// anchor is a file of trusted certificates: a CA file.
type anchor struct {
	name  string // relative to the directory
	certs []*x509.Certificate
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
	p := d.plan
	return p.newCA || p.server != serverKeep || p.newClient || d.reason != "" || p.copyServerCA || p.copyClientCA
}

// hasClient reports whether the directory holds a client bundle once the
// decision is carried out (-tlsverify with a client pair made or kept).
func (d *decision) hasClient(verify bool) bool {
	return verify && (d.plan.newClient || d.present[d.lay.clientCert])
}

// decide reads the directory and checks what is there, without writing.
func decide(req *Request, now time.Time) (*decision, listing, error) {
	lay, err := req.layout()
	if err != nil {
		return nil, listing{}, err
	}
	l, err := scan(req.Dir, lay)
	if err != nil {
		return nil, l, err
	}
	p, err := planFor(l.present, req.Verify, lay)
	if err != nil {
		return nil, l, errors.Wrapf(err, "check %s", req.Dir)
	}
	d := &decision{dir: req.Dir, lay: lay, present: l.present, plan: p, seen: sha256.New()}
	for _, f := range lay.files {
		if l.present[f] {
			d.saw("present " + f)
		}
	}
	if p.loadCA {
		if err := d.loadCA(l.present[lay.caKey]); err != nil {
			return nil, l, err
		}
	}
	if req.Verify {
		if err := d.loadAnchors(); err != nil {
			return nil, l, err
		}
	}
	if p.server == serverKeep {
		if err := d.checkServer(req, now); err != nil {
			return nil, l, err
		}
	}
	switch {
	case req.Verify && !p.newClient && l.present[lay.clientCert]:
		d.result.Kept = append(d.result.Kept, lay.clientCert, lay.clientKey)
		d.checkClient(now)
	case req.Verify && !p.newClient && !signsClients(d.engine.certs, now):
		d.result.ClientRefused = d.path(d.engine.name) + ": no certificate in it can sign a client certificate the engine accepts " +
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

// loadCA reads the CA certificate, every certificate in it (a bundle may
// hold several CAs), and its key with it when dinv owns the CA. They are
// what the engine and its clients trust, until loadAnchors finds files of
// their own.
func (d *decision) loadCA(withKey bool) error {
	name := d.lay.caCert
	if withKey {
		ca, rest, err := loadPair(d.dir, name, d.lay.caKey)
		if err != nil {
			return err
		}
		d.ca = ca
		d.engine = anchor{name, append([]*x509.Certificate{ca.cert}, rest...)}
		d.saw(name, ca.certPEM, ca.keyPEM)
		d.result.Kept = append(d.result.Kept, name, d.lay.caKey)
	} else {
		a, err := d.loadAnchor(name)
		if err != nil {
			return err
		}
		d.engine = a
	}
	d.trust = d.engine
	return nil
}

// loadAnchor reads a CA file alone (a CA brought without its key, a bundle
// of several, a copy): every certificate in it.
func (d *decision) loadAnchor(name string) (anchor, error) {
	certs, data, err := loadCerts(d.path(name))
	if err != nil {
		return anchor{}, err
	}
	d.saw(name, data)
	d.result.Kept = append(d.result.Kept, name)
	return anchor{name, certs}, nil
}

// loadAnchors reads, with -tlsverify in the dind layout, the CA files the
// engine and its clients are given where they are files of their own:
// server/ca.pem and client/ca.pem when present. With the user's
// certificates and no client/, the server certificate is checked against
// server/ca.pem, as it was issued for the clients of that CA.
func (d *decision) loadAnchors() error {
	lay := d.lay
	if lay.serverCA != "" && d.present[lay.serverCA] {
		a, err := d.loadAnchor(lay.serverCA)
		if err != nil {
			return err
		}
		if d.trust.name == "" {
			d.trust = a
		}
		d.engine = a
	}
	if lay.clientCA != "" && d.present[lay.clientCA] {
		a, err := d.loadAnchor(lay.clientCA)
		if err != nil {
			return err
		}
		d.trust = a
	}
	return nil
}

// checkServer checks the server pair and decides whether to re-issue
// it: only when dinv owns the CA that signed it, or made it self-signed.
// What is kept must be accepted by clients now.
func (d *decision) checkServer(req *Request, now time.Time) error {
	lay := d.lay
	srv, inter, err := loadPair(d.dir, lay.serverCert, lay.serverKey)
	if err != nil {
		return err
	}
	d.saw(lay.serverCert, srv.certPEM, srv.keyPEM)
	roots, anchor, err := d.serverRoots(req.Verify, srv.cert, inter)
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
			return refused(d.path(lay.serverCert), "clients", srv.cert, err, now, anchor)
		}
		d.result.Uncovered = outside
		d.result.Expiring = srv.cert.NotAfter.Sub(now) < RenewBefore
		d.result.Kept = append(d.result.Kept, lay.serverCert, lay.serverKey)
	}
	return nil
}

// serverRoots is what the engine's clients trust the server certificate
// by, and the file that names it in errors.
//
// With -tlsverify, the trust anchor: the CA file the clients are given.
// With -tls, the top of the server certificate's chain when it is
// self-signed (dinv's own -tls certificate, or a chain up to its root: it
// names its anchor, and a lone CA certificate beside it is left alone, as
// when dinv self-signs); else the CA certificate when present (dind:
// ca/cert.pem, else server/ca.pem); else the top of the chain, as for a
// client given that certificate to trust (Go accepts a leaf found among its
// roots).
func (d *decision) serverRoots(verify bool, leaf *x509.Certificate, inter []*x509.Certificate) ([]*x509.Certificate, string, error) {
	if verify {
		return d.trust.certs, d.path(d.trust.name), nil
	}
	top := leaf
	if len(inter) > 0 {
		top = inter[len(inter)-1]
	}
	name := ""
	for _, f := range []string{d.lay.caCert, d.lay.serverCA} {
		if f != "" && d.present[f] {
			name = f
			break
		}
	}
	if selfSigned(top) || name == "" {
		return []*x509.Certificate{top}, d.path(d.lay.serverCert), nil
	}
	if d.trust.name != name {
		a, err := d.loadAnchor(name)
		if err != nil {
			return nil, "", err
		}
		d.trust = a
	}
	return d.trust.certs, d.path(name), nil
}

// checkClient verifies a client certificate kept in the directory as the
// engine verifies its clients. A refusal is reported in
// Result.ClientRefused (the stage warns), not an error: the engine does not
// use that file, and its users may hold other certificates of the CA.
func (d *decision) checkClient(now time.Time) {
	lay := d.lay
	cl, inter, err := loadPair(d.dir, lay.clientCert, lay.clientKey)
	if err == nil {
		d.saw(lay.clientCert, cl.certPEM, cl.keyPEM)
		if verr := accepted(cl.cert, inter, d.engine.certs, x509.ExtKeyUsageClientAuth, now); verr != nil {
			err = refused(d.path(lay.clientCert), "the engine", cl.cert, verr, now, d.path(d.engine.name))
		}
	}
	if err != nil {
		d.result.ClientRefused = err.Error()
	}
}

// file is a newFile of the layout: its subdirectory is created with the
// layout's mode when missing.
func (d *decision) file(name string, data []byte, perm os.FileMode) newFile {
	return newFile{name: name, data: data, perm: perm, dirPerm: d.lay.dirPerm(name)}
}

// mint generates what the decision calls for, in write order (the CA
// first, then the server's files, then the client's), into d.files. Each
// leaf is verified as its peers will verify it before anything is written.
func (d *decision) mint(is issuer, hosts []string) error {
	lay := d.lay
	var files []newFile
	add := func(certName, keyName string, p *pair) {
		files = append(files, d.file(keyName, p.keyPEM, 0o600), d.file(certName, p.certPEM, 0o644))
	}
	if d.plan.newCA {
		ca, err := is.issue(roleCA, nil, nil)
		if err != nil {
			return errors.Wrap(err, "generate CA")
		}
		d.ca = ca
		d.engine = anchor{lay.caCert, []*x509.Certificate{ca.cert}}
		d.trust = d.engine
		add(lay.caCert, lay.caKey, ca)
	}
	if d.plan.copyServerCA {
		files = append(files, d.file(lay.serverCA, d.ca.certPEM, 0o644))
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
			files = append(files, d.file(lay.serverCert, srv.certPEM, 0o644))
		} else {
			add(lay.serverCert, lay.serverKey, srv)
		}
	}
	if d.plan.copyClientCA {
		files = append(files, d.file(lay.clientCA, d.ca.certPEM, 0o644))
	}
	if d.plan.newClient {
		cl, err := is.issue(roleClient, nil, d.ca)
		if err != nil {
			return errors.Wrap(err, "generate client certificate")
		}
		if err := accepted(cl.cert, nil, d.engine.certs, x509.ExtKeyUsageClientAuth, is.now); err != nil {
			return badFile(d.path(d.engine.name), "cannot issue a %s the engine accepts: %v", lay.clientCert, err)
		}
		add(lay.clientCert, lay.clientKey, cl)
	}
	d.files = files
	return nil
}

// checkIssuedServer verifies a server certificate dinv made as clients will:
// trusting the CA file they are given (itself when self-signed), for every
// host it must cover. A CA brought with its key that cannot issue one (not
// a CA, a key usage without certSign, an extended key usage without
// serverAuth), or a client/ca.pem that does not hold it, is refused here,
// naming that file, before anything is written.
func (d *decision) checkIssuedServer(srv *pair, hosts []string, now time.Time) error {
	roots := []*x509.Certificate{srv.cert}
	if d.ca != nil {
		roots = d.trust.certs
	}
	if err := accepted(srv.cert, nil, roots, x509.ExtKeyUsageServerAuth, now); err != nil {
		if d.ca != nil {
			return badFile(d.path(d.trust.name), "cannot issue a %s clients accept: %v", d.lay.serverCert, err)
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

// reissue re-issues the server certificate (docker.crt, server/cert.pem)
// from dinv's CA.
//
// Several DinV hosts may share one certificate directory (a /certs volume),
// each re-issuing the one server certificate when it misses its own
// addresses. The new certificate covers what the current one covers as well
// as hosts, so a host re-issuing it never drops another host's addresses
// (each re-issue is decided under the lock on the certificate the previous
// one wrote).
//
// It keeps the server key when that is a key of the configured kind: then
// only the certificate changes, in a single rename, and an engine reading
// the two files while another host re-issues them never gets a certificate
// with the key of another. A key of another kind (-key-type changed, or an
// RSA key docker:dind made) is replaced.
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
	d.result.Files = d.tlsFiles(req.Verify)
	return &d.result, nil
}

// commitLocked, with the lock held, finishes a commit a killed run left half
// done, decides again on what is there now and writes what that decision
// calls for, after removing leftover temp files. pre is the decision made
// before the lock, its files minted: when the directory still holds what it
// was made on, its files are written as they are.
func commitLocked(req *Request, st store, is issuer, pre *decision, lay layout) (*decision, error) {
	if err := st.rollForward(req.Dir, lay); err != nil {
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
	lay, p := d.lay, d.plan
	if p.newCA {
		out = append(out, lay.caCert, lay.caKey)
	}
	if p.copyServerCA {
		out = append(out, lay.serverCA)
	}
	if p.server != serverKeep || d.reason != "" {
		out = append(out, lay.serverCert, lay.serverKey)
	}
	if p.copyClientCA {
		out = append(out, lay.clientCA)
	}
	if p.newClient {
		out = append(out, lay.clientCert, lay.clientKey)
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
