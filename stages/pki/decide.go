package pki

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"hash"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/safefile"
)

// listing is what a directory holds of interest to dinv.
type listing struct {
	present map[string]bool // which of the layout's files exist (any kind)
	temps   []string        // leftover temp files, relative to the directory
}

// scan lists dir and the layout's subdirectories; a missing directory
// holds nothing.
func scan(dir string, lay layout) (listing, error) {
	l := listing{present: map[string]bool{}}
	subs := []string{"."}
	for sub := range lay.dirs {
		subs = append(subs, sub)
	}
	sort.Strings(subs[1:])
	for _, sub := range subs {
		path := filepath.Join(dir, sub)
		// Checked before it is opened, and opened only as a directory: a
		// FIFO or device node in a directory's place is never opened.
		entries, err := safefile.ReadDir(path)
		var ke *safefile.KindError
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case errors.As(err, &ke):
			return l, core.Usagef("%v", err)
		case err != nil:
			return l, errors.Wrapf(err, "list certificate directory %s", path)
		}
		for _, e := range entries {
			name := filepath.Join(sub, e.Name())
			switch {
			case strings.HasPrefix(e.Name(), tempPrefix):
				l.temps = append(l.temps, name)
			case lay.isFile(name):
				l.present[name] = true
			}
		}
	}
	return l, nil
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
	trust anchor
	old   *pair // the server pair as it is, when re-issued
	plan  plan
	// srv is the server pair the engine will serve (kept, or once minted),
	// srvRoots what its clients trust it by; client the client pair the
	// engine accepts (kept, or minted: clientMinted), nil when none. The
	// handshake check runs between them.
	srv          *pair
	srvRoots     []*x509.Certificate
	client       *pair
	clientMinted bool
	reason       string    // re-issue the server certificate, and why
	files        []newFile // what mint made and checked, in write order
	seen         hash.Hash // what the decision was made on: which files, their bytes
	result       result
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
func decide(req *request, now time.Time) (*decision, listing, error) {
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
	case req.Verify && !d.plan.newClient && l.present[lay.clientCert] && d.reissuesLeaves():
		if err := d.checkOwnClient(now); err != nil {
			return nil, l, err
		}
	case req.Verify && !d.plan.newClient && l.present[lay.clientCert]:
		d.result.Kept = append(d.result.Kept, lay.clientCert, lay.clientKey)
		d.checkClient(now)
	case req.Verify && !d.plan.newClient && !signsClients(d.engine.certs, now):
		d.result.ClientRefused = d.path(d.engine.name) + ": no certificate in it can sign a client certificate the engine accepts " +
			"(none is a CA valid now with the certSign key usage and an extended key usage allowing clientAuth): every client will be refused"
	}
	if !d.writes() {
		// What is kept is what is served: a client must complete a
		// handshake with it (else mint checks the set it completes).
		if err := d.checkHandshake(req.Hosts, now); err != nil {
			return nil, l, err
		}
	}
	for _, f := range lay.files { // in the layout's order
		if contains(d.plan.replace, f) {
			d.result.Replaced = append(d.result.Replaced, f)
		}
	}
	d.result.ReplaceReason = d.plan.why
	return d, l, nil
}

// reissuesLeaves reports whether dinv manages the leaves as docker:dind
// does: in its layout, with the CA's key. Then what does not chain to the
// CA (a copy of another CA, a client or server certificate another CA
// issued) is written anew, from the CA, instead of refused or kept: it is
// left from another CA (a kept volume), and docker:dind would overwrite it.
func (d *decision) reissuesLeaves() bool {
	return d.ca != nil && d.lay.name == layoutDind
}

// renew marks name, a file present, to be written anew, and says why.
func (d *decision) renew(why string, names ...string) {
	d.plan.replace = append(d.plan.replace, names...)
	if d.plan.why != "" {
		d.plan.why += "; "
	}
	d.plan.why += strings.Join(names, ", ") + ": " + why
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
//
// A copy that is written anew (the plan's, or one loadCopy finds stale) is
// not read as an anchor: what it will hold, the CA, is.
func (d *decision) loadAnchors() error {
	lay := d.lay
	if lay.serverCA != "" && d.present[lay.serverCA] && !d.plan.copyServerCA {
		a, err := d.loadCopy(lay.serverCA, &d.plan.copyServerCA)
		if err != nil {
			return err
		}
		if d.trust.name == "" {
			d.trust = a
		}
		d.engine = a
	}
	if lay.clientCA != "" && d.present[lay.clientCA] && !d.plan.copyClientCA {
		a, err := d.loadCopy(lay.clientCA, &d.plan.copyClientCA)
		if err != nil {
			return err
		}
		d.trust = a
	}
	return nil
}

// loadCopy reads server/ca.pem or client/ca.pem as an anchor. When dinv
// re-issues leaves (reissuesLeaves), one that does not hold the CA
// certificate (nor parses) is left from another CA: it is to be copied
// anew (*recopy set), and the anchor returned is the CA it will hold.
func (d *decision) loadCopy(name string, recopy *bool) (anchor, error) {
	if !d.reissuesLeaves() {
		return d.loadAnchor(name)
	}
	data, err := readFile(d.path(name))
	if err != nil {
		return anchor{}, err
	}
	d.saw(name, data)
	cert, rest, err := parseCertPEM(d.path(name), data)
	certs := append([]*x509.Certificate{cert}, rest...)
	if err == nil {
		err = checkStrengthAll(d.path(name), certs)
	}
	switch {
	case err != nil:
		d.renew(strings.TrimPrefix(err.Error(), d.path(name)+": "), name)
	case !holds(certs, d.ca.cert):
		d.renew("does not hold "+d.lay.caCert+" (a copy of another CA)", name)
	default:
		d.result.Kept = append(d.result.Kept, name)
		return anchor{name, certs}, nil
	}
	*recopy = true
	return anchor{name, []*x509.Certificate{d.ca.cert}}, nil
}

// contains reports whether list holds s.
func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// holds reports whether certs holds c.
func holds(certs []*x509.Certificate, c *x509.Certificate) bool {
	for _, e := range certs {
		if e.Equal(c) {
			return true
		}
	}
	return false
}

// checkServer checks the server pair and decides whether to re-issue
// it: only when dinv owns the CA that signed it, or made it self-signed.
// What is kept must be accepted by clients now.
func (d *decision) checkServer(req *request, now time.Time) error {
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
	expiring := now.Before(srv.cert.NotBefore) || srv.cert.NotAfter.Sub(now) < renewBefore
	switch {
	case owned && expiring && d.ca.cert.NotAfter.After(srv.cert.NotAfter):
		d.old, d.reason = srv, "expiry"
	case owned && len(outside) > 0:
		d.old, d.reason = srv, "addresses"
	case selfOwned && expiring:
		d.old, d.reason = srv, "expiry"
	case !owned && d.reissuesLeaves():
		// Left from another CA: issued anew from dinv's, with a new key.
		d.reason = "issuer"
		d.renew("not issued by "+lay.caCert+" (left from another CA)", lay.serverCert, lay.serverKey)
	default:
		if err := accepted(srv.cert, inter, roots, x509.ExtKeyUsageServerAuth, now); err != nil {
			return refused(d.path(lay.serverCert), "clients", srv.cert, err, now, anchor)
		}
		d.srv, d.srvRoots = srv, roots
		d.result.Uncovered = outside
		d.result.Expiring = srv.cert.NotAfter.Sub(now) < renewBefore
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
		return
	}
	d.client = cl
}

// checkOwnClient checks the client pair kept in the directory when dinv
// re-issues leaves (reissuesLeaves): one the engine would refuse (issued by
// another CA, expired, unreadable as a pair) is issued anew from the CA.
// A file that is not a regular file is still an error.
func (d *decision) checkOwnClient(now time.Time) error {
	lay := d.lay
	certPath, keyPath := d.path(lay.clientCert), d.path(lay.clientKey)
	certPEM, err := readFile(certPath)
	if err != nil {
		return err
	}
	keyPEM, err := readFile(keyPath)
	if err != nil {
		return err
	}
	d.saw(lay.clientCert, certPEM, keyPEM)
	cl, inter, err := parsePair(certPath, keyPath, certPEM, keyPEM)
	if err == nil {
		if verr := accepted(cl.cert, inter, d.engine.certs, x509.ExtKeyUsageClientAuth, now); verr != nil {
			err = refused(certPath, "the engine", cl.cert, verr, now, d.path(d.engine.name))
		}
	}
	if err != nil {
		d.plan.newClient = true
		d.renew(strings.TrimPrefix(strings.TrimPrefix(err.Error(), certPath+": "), keyPath+": "), lay.clientCert, lay.clientKey)
		return nil
	}
	d.client = cl
	d.result.Kept = append(d.result.Kept, lay.clientCert, lay.clientKey)
	return nil
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

// ownSelfSigned reports whether c is a self-signed server certificate dinv
// made (-tls with nothing given), as opposed to one a user brought.
func ownSelfSigned(c *x509.Certificate) bool {
	return c.Subject.CommonName == "DinV server" && len(c.Subject.Organization) == 1 &&
		c.Subject.Organization[0] == "DinV" && bytes.Equal(c.RawIssuer, c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}
