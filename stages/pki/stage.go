package pki

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dinv/dinv/core"
)

// stage is the "pki" stage: Ensure over the configuration and the network
// stage's addresses. It is not a DryRunSkipper: -dry-run checks
// certificates as a real start does, writes nothing, and says what a real
// start would write.
type stage struct {
	now func() time.Time
}

// New returns the certificate stage.
func New() core.Stage { return &stage{now: time.Now} }

func (*stage) Name() string { return "pki" }

// Requires the network stage when TLS is served: the server certificate must
// cover the addresses it finds, which the ready line then advertises.
func (*stage) Requires(cfg *core.Config) []string {
	if cfg.Certs != core.TLSOff {
		return []string{"network"}
	}
	return nil
}

// Validate checks -key-type, the certificate layout and every -tls-san entry.
func (*stage) Validate(cfg *core.Config, _ *core.Profile) error {
	var problems []string
	if _, err := parseKeyType(cfg.KeyType); err != nil {
		problems = append(problems, err.Error())
	}
	if _, err := layoutNamed(cfg.CertLayout); err != nil {
		problems = append(problems, err.Error())
	}
	for _, san := range cfg.TLSSANs {
		if _, err := sanList(san); err != nil {
			problems = append(problems, "-tls-san "+err.Error())
		}
	}
	if len(problems) > 0 {
		return core.Usagef("%s", strings.Join(problems, "; "))
	}
	return nil
}

func (st *stage) Run(ctx context.Context, s *core.State) error {
	log := core.Log(ctx)
	cfg := &s.Config
	if e := &cfg.Engine; cfg.Certs == core.TLSOff && cfg.UsesTLS() {
		// The user names the engine's TLS files: dinv makes none.
		files := core.TLSFiles{CACert: e.TLSCACert.Value, ServerCert: e.TLSCert.Value, ServerKey: e.TLSKey.Value}
		if err := checkUserFiles(files, cfg.Verifies(), st.now()); err != nil {
			return err
		}
		s.TLSFiles = files
		log.Debug("the engine's TLS files are yours", "cert", e.TLSCert.From.String(), "key", e.TLSKey.From.String())
		return nil
	}
	if cfg.Certs == core.TLSOff {
		log.Debug("no certificates of dinv's: nothing to do", "tls", cfg.Engine.TLS.Value.String())
		return nil
	}
	spec, err := parseKeyType(cfg.KeyType)
	if err != nil {
		return core.Usagef("%v", err)
	}
	extra, err := extraHosts(cfg.TLSSANs)
	if err != nil {
		return err
	}
	res, err := ensure(ctx, request{
		Dir:    cfg.CertDir,
		Layout: cfg.CertLayout,
		Verify: cfg.Certs == core.TLSVerify,
		Key:    spec,
		Hosts:  serverHosts(s.Addrs, s.Hostname, extra),
		Now:    st.now,
		DryRun: cfg.DryRun,
	})
	if err != nil {
		return err
	}
	log.Debug("certificates", "dir", cfg.CertDir, "layout", layoutName(cfg.CertLayout), "generated", res.Generated, "kept", res.Kept,
		"reissued", res.Reissued, "key_type", spec.String())
	if cfg.DryRun {
		logDryRun(log, cfg.CertDir, res)
	} else if len(res.Replaced) > 0 {
		log.Info("certificate files replaced", "dir", cfg.CertDir, "files", res.Replaced, "reason", res.ReplaceReason)
	}
	if len(res.Uncovered) > 0 {
		log.Warn("server certificate does not cover these addresses; clients must connect by a name it covers",
			"file", res.Files.ServerCert, "uncovered", res.Uncovered)
	}
	if res.ClientRefused != "" {
		log.Warn("the engine will refuse client certificates; clients using them cannot connect", "reason", res.ClientRefused)
	}
	if res.Expiring {
		log.Warn("server certificate expires within 30 days and is not dinv's to renew (brought by you, or signed by a CA whose key is not here)", "file", res.Files.ServerCert)
	}
	s.TLSFiles = res.Files
	return nil
}

// logDryRun says at INFO what a real start would write, and why.
func logDryRun(log hclog.Logger, dir string, res *result) {
	if res.WouldRollForward {
		log.Info("dry run: a real start would first complete the interrupted commit", "file", filepath.Join(dir, journalFile))
	}
	if len(res.Replaced) > 0 {
		log.Info("dry run: a real start would replace certificate files", "dir", dir, "files", res.Replaced, "reason", res.ReplaceReason)
	}
	switch {
	case res.WouldReissue != "":
		log.Info("dry run: a real start would generate", "files", res.WouldGenerate, "dir", dir, "reissue", res.WouldReissue)
	case len(res.WouldGenerate) > 0:
		log.Info("dry run: a real start would generate", "files", res.WouldGenerate, "dir", dir)
	default:
		log.Info("dry run: the certificates are ready; a real start would write nothing", "dir", dir)
	}
}

// layoutName names a layout for the log.
func layoutName(l string) string {
	if l == "" {
		return layoutFlat
	}
	return l
}
