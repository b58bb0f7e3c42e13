package args

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/dinv/dinv/core"
	"github.com/dinv/dinv/internal/config"
)

// What dinv reports is what the engine serves. Every combination of the
// sources below (dinv's flags x the environment x an engine argument in each
// form dockerd takes x a daemon.json key) is either refused, with a message
// naming two of the sources when no one of them is refused alone, or
// resolved; then the engine's effective settings (its command line read as
// dockerd reads it, merged with daemon.json as dockerd merges it) must equal
// what dinv reports from the resolved configuration: the listeners, the TLS
// mode, the socket dinv waits on, the data and run files, the storage
// driver, the insecure registries, debug and MTU.

// source is one input of a combination: marker is a word of it that a
// message naming it contains.
type source struct {
	marker string
	flags  func(*config.Flags)
	env    map[string]string
	args   []string
	file   map[string]interface{}
}

var dinvFlags = []source{
	{},
	{marker: "-tls", flags: func(f *config.Flags) { f.TLS = true }},
	{marker: "-tlsverify", flags: func(f *config.Flags) { f.TLSVerify = true }},
	{marker: "-local", flags: func(f *config.Flags) { f.Local = true }},
	{marker: "-storage", flags: func(f *config.Flags) { f.Storage = "vfs" }},
	{marker: "-socket", flags: func(f *config.Flags) { f.Socket = "/s.sock" }},
	{marker: "-data-root", flags: func(f *config.Flags) { f.DataRoot = "/d" }},
	{marker: "-port", flags: func(f *config.Flags) { f.Port = 2390 }},
	{marker: "-insecure-registry", flags: func(f *config.Flags) { f.InsecureRegistries = []string{"r1:5000"} }},
	{marker: "-socket-activation", flags: func(f *config.Flags) { f.SocketActivation = false }},
}

var environments = []source{
	{},
	{marker: "DOCKER_TLS_CERTDIR", env: map[string]string{"DOCKER_TLS_CERTDIR": "/certs"}},
	{marker: "DEBUG", env: map[string]string{"DEBUG": "true"}},
	{marker: "DINV_ROOTLESS", env: map[string]string{"DINV_ROOTLESS": "1"}},
}

// engineSettings are engine arguments, each in every form dockerd takes.
func engineSettings() []source {
	forms := func(long, short, value string) [][]string {
		f := [][]string{{"--" + long + "=" + value}, {"--" + long, value}}
		if short != "" {
			f = append(f, []string{"-" + short, value}, []string{"-" + short + value}, []string{"-" + short + "=" + value})
		}
		return f
	}
	out := []source{{}}
	add := func(long, short, value string) {
		for _, words := range forms(long, short, value) {
			out = append(out, source{marker: words[0], args: words})
		}
	}
	add("host", "H", "tcp://0.0.0.0:2380")
	add("host", "H", "unix:///u.sock")
	add("host", "H", "tcp://127.0.0.1:2375")
	add("host", "H", "tcp://127.0.0.1:2376")
	add("storage-driver", "s", "overlay2")
	add("storage-driver", "s", "vfs")
	add("data-root", "g", "/x")
	add("pidfile", "p", "/p.pid")
	add("mtu", "", "1400")
	add("insecure-registry", "", "r2:5000")
	add("tlsverify", "", "false")
	add("tlsverify", "", "true")
	add("tls", "", "true")
	add("tls", "", "false")
	for _, words := range [][]string{{"--debug"}, {"-D"}, {"--debug=false"}, {"-DH", "unix:///u.sock"}, {"--tlsverify"}, {"--tls"}} {
		out = append(out, source{marker: words[0], args: words})
	}
	out = append(out, source{marker: "--tlscacert", args: []string{"--tlscacert=/u/ca.pem", "--tlscert=/u/cert.pem", "--tlskey=/u/key.pem"}})
	return out
}

var fileKeys = []source{
	{},
	{marker: "hosts", file: map[string]interface{}{"hosts": []string{"unix:///f.sock"}}},
	{marker: "hosts", file: map[string]interface{}{"hosts": []string{"unix:///var/run/docker.sock", "tcp://0.0.0.0:2377"}}},
	{marker: "tlsverify", file: map[string]interface{}{"tlsverify": false}},
	{marker: "tlsverify", file: map[string]interface{}{"tlsverify": true}},
	{marker: "tls", file: map[string]interface{}{"tls": true}},
	{marker: "tlsverify", file: map[string]interface{}{"tls": true, "tlsverify": true}},
	{marker: "tlscert", file: map[string]interface{}{"tlscacert": "/f/ca.pem", "tlscert": "/f/cert.pem", "tlskey": "/f/key.pem"}},
	{marker: "storage-driver", file: map[string]interface{}{"storage-driver": "vfs"}},
	{marker: "data-root", file: map[string]interface{}{"data-root": "/x"}},
	{marker: "debug", file: map[string]interface{}{"debug": true}},
	{marker: "debug", file: map[string]interface{}{"debug": false}},
	{marker: "insecure-registries", file: map[string]interface{}{"insecure-registries": []string{"r3:5000"}}},
	{marker: "mtu", file: map[string]interface{}{"mtu": 1300}},
}

// resolveCombination resolves the sources together.
func resolveCombination(srcs ...source) (*core.Config, error) {
	f := config.DefaultFlags()
	def := config.DefaultFlags()
	env := map[string]string{}
	var args []string
	var file map[string]interface{}
	for _, s := range srcs {
		if s.flags != nil {
			s.flags(&f)
		}
		for k, v := range s.env {
			env[k] = v
		}
		args = append(args, s.args...)
		if s.file != nil {
			file = s.file
		}
	}
	f.Given = map[string]bool{}
	for _, s := range srcs {
		if s.flags != nil {
			f.Given[strings.TrimPrefix(s.marker, "-")] = true
		}
	}
	_ = def
	var data []byte
	if file != nil {
		data, _ = json.Marshal(file)
	}
	cfg, _, err := config.Resolve(context.Background(), config.Inputs{
		Flags: f, Env: func(k string) string { return env[k] }, Engine: args,
		ReadFile: func(context.Context, string) ([]byte, error) { return data, nil },
	})
	return cfg, err
}

// served are the settings an engine serves, as a comparable string each.
type served struct {
	Hosts, TLS, TLSFiles, Socket, DataRoot, Pidfile, Storage, Registries, Debug, MTU string
}

// effective is what dockerd makes of its command line args and its
// daemon.json file: its own reading, flag by flag, independent of dinv's
// resolution. fd:// stands for the sockets dinv binds and hands over
// (activated). It fails when dockerd would refuse the pair: a setting in
// both, or a scalar flag given twice.
func effective(args []string, file map[string]interface{}, activated []core.Listener) (served, error) {
	flags, err := config.ParseEngineArgs(args[1:]) // args[0] is dockerd
	if err != nil {
		return served{}, err
	}
	cmd := map[string][]string{}
	for _, f := range flags {
		name := f.Name
		if name == "graph" {
			name = "data-root"
		}
		cmd[name] = append(cmd[name], f.Value)
	}
	fileName := map[string]string{"hosts": "host", "insecure-registries": "insecure-registry", "graph": "data-root"}
	fromFile := map[string][]string{}
	for k, v := range file {
		name := k
		if n, ok := fileName[k]; ok {
			name = n
		}
		switch v := v.(type) {
		case []string:
			fromFile[name] = v
		case bool:
			fromFile[name] = []string{strconv.FormatBool(v)}
		case int:
			fromFile[name] = []string{strconv.Itoa(v)}
		case string:
			fromFile[name] = []string{v}
		}
	}
	for name, v := range cmd {
		if _, both := fromFile[name]; both {
			return served{}, fmt.Errorf("dockerd refuses %s both as a flag and in its file", name)
		}
		if name != "host" && name != "insecure-registry" && len(v) > 1 {
			return served{}, fmt.Errorf("--%s given %d times: %q", name, len(v), v)
		}
	}
	get := func(name string) []string {
		if v, ok := cmd[name]; ok {
			return v
		}
		return fromFile[name]
	}
	one := func(name, def string) string {
		if v := get(name); len(v) > 0 {
			return v[len(v)-1]
		}
		return def
	}
	// TLS as dockerd's loadDaemonCliConfig decides it.
	var tls, verify *bool
	if v := get("tls"); len(v) > 0 {
		b, _ := strconv.ParseBool(v[0])
		tls = &b
	}
	if v := get("tlsverify"); len(v) > 0 {
		b, _ := strconv.ParseBool(v[0])
		verify, tls = &b, new(bool)
		*tls = true
	}
	if verify == nil && tls != nil {
		verify = tls
	}
	mode := core.TLSOff
	switch {
	case tls != nil && *tls && verify != nil && *verify:
		mode = core.TLSVerify
	case tls != nil && *tls:
		mode = core.TLSServer
	}
	// The TLS files as dockerd's setDefaultOptions and loadDaemonCliConfig
	// take them: those of the command line only when the command line
	// itself turns TLS on (--tls or --tlsverify), else daemon.json's.
	_, cmdTLS := cmd["tls"]
	if _, v := cmd["tlsverify"]; v {
		cmdTLS = true
	}
	path := func(name string) string {
		if v, ok := fromFile[name]; ok {
			return v[0]
		}
		if v, ok := cmd[name]; ok && cmdTLS {
			return v[0]
		}
		return ""
	}
	files := servedFiles(mode, path("tlscacert"), path("tlscert"), path("tlskey"))
	var hosts []string
	for _, h := range get("host") {
		if h == "fd://" {
			for _, l := range activated {
				hosts = append(hosts, l.URL())
			}
			continue
		}
		l, err := config.ParseHost(h, mode != core.TLSOff)
		if err != nil {
			return served{}, err
		}
		hosts = append(hosts, l.URL())
	}
	if len(hosts) == 0 {
		hosts = []string{"unix:///var/run/docker.sock"}
	}
	socket := ""
	for _, h := range hosts {
		if p, ok := strings.CutPrefix(h, "unix://"); ok && socket == "" {
			socket = p
		}
	}
	sort.Strings(hosts)
	regs := get("insecure-registry")
	return served{
		Hosts: strings.Join(hosts, ","), TLS: tlsIfTCP(hosts, mode), TLSFiles: tlsIfTCP(hosts, files), Socket: socket,
		DataRoot: one("data-root", "/var/lib/docker"), Pidfile: one("pidfile", "/var/run/docker.pid"),
		Storage: one("storage-driver", ""), Registries: strings.Join(regs, ","),
		Debug: one("debug", "false"), MTU: one("mtu", ""),
	}, nil
}

func tlsIfTCP[T fmt.Stringer](hosts []string, v T) string {
	for _, h := range hosts {
		if strings.HasPrefix(h, "tcp://") {
			return v.String()
		}
	}
	return "no tcp"
}

// filesServed are the files a TLS mode uses, comparable: the CA only to
// verify clients.
type filesServed string

func (f filesServed) String() string { return string(f) }

func servedFiles(mode core.TLSMode, ca, cert, key string) filesServed {
	switch mode {
	case core.TLSVerify:
		return filesServed("ca=" + ca + " cert=" + cert + " key=" + key)
	case core.TLSServer:
		return filesServed("cert=" + cert + " key=" + key)
	}
	return ""
}

// reported is what dinv says the engine serves: the ready line, client.json
// and the health check derive from these.
func reported(c *core.Config, s *core.State) served {
	e := &c.Engine
	var hosts []string
	for _, l := range e.Listeners {
		hosts = append(hosts, l.URL())
	}
	sort.Strings(hosts)
	mtu := ""
	switch {
	case e.MTU.From.Explicit():
		mtu = strconv.Itoa(e.MTU.Value)
	case s.MTU > 0 && s.MTU < 1500 && !e.Exact:
		mtu = strconv.Itoa(s.MTU)
	}
	f := tlsFiles(c, s)
	return served{
		Hosts: strings.Join(hosts, ","), TLS: tlsIfTCP(hosts, e.TLS.Value),
		TLSFiles: tlsIfTCP(hosts, servedFiles(e.TLS.Value, f.CACert, f.ServerCert, f.ServerKey)), Socket: e.Socket(),
		DataRoot: e.DataRoot.Value, Pidfile: e.Pidfile.Value, Storage: storageDriver(e, s),
		Registries: strings.Join(e.InsecureRegistries.Value, ","), Debug: strconv.FormatBool(e.Debug.Value), MTU: mtu,
	}
}

func TestWhatDinvReportsIsWhatTheEngineServes(t *testing.T) {
	p := profile(t, "28.5")
	engine := engineSettings()
	var resolved, refused, pairs int
	for _, fl := range dinvFlags {
		for _, env := range environments {
			for _, arg := range engine {
				for _, file := range fileKeys {
					srcs := []source{fl, env, arg, file}
					name := fmt.Sprintf("flag %q env %q arg %q file %q", fl.marker, env.marker, strings.Join(arg.args, " "), file.marker)
					cfg, err := resolveCombination(srcs...)
					if err != nil {
						refused++
						if !core.IsUsage(err) {
							t.Fatalf("%s: %v is not a usage error", name, err)
						}
						// A contradiction between sources names two of them.
						alone := true
						for _, s := range srcs {
							if s.marker != "" {
								if _, err := resolveCombination(s); err != nil {
									alone = false
								}
							}
						}
						if alone {
							pairs++
							named := 0
							for _, s := range srcs {
								if s.marker != "" && strings.Contains(err.Error(), s.marker) {
									named++
								}
							}
							if named < 2 {
								t.Errorf("%s: refused naming fewer than two sources: %v", name, err)
							}
						}
						continue
					}
					resolved++
					s := core.State{StorageDriver: "overlay2", MTU: 1450, TLSFiles: core.TLSFiles{
						CACert: "/certs/ca.crt", ServerCert: "/certs/docker.crt", ServerKey: "/certs/docker.key"}}
					cmds := buildCommands(cfg, p, &s)
					got, err := effective(cmds[len(cmds)-1].Args, file.file, cfg.Engine.TCP())
					if err != nil {
						t.Errorf("%s: the engine would refuse %q: %v", name, cmds[len(cmds)-1].Args, err)
						continue
					}
					if want := reported(cfg, &s); got != want {
						t.Errorf("%s: the engine serves\n%+v\ndinv reports\n%+v\ncommand line %q", name, got, want, cmds[len(cmds)-1].Args)
					}
					if cfg.Verifies() != (got.TLS == "tlsverify") {
						t.Errorf("%s: dinv reports verify=%v, the engine serves %s", name, cfg.Verifies(), got.TLS)
					}
				}
			}
		}
	}
	t.Logf("%d combinations resolved, %d refused (%d of them contradictions between sources)", resolved, refused, pairs)
	if resolved == 0 || pairs == 0 {
		t.Errorf("the table proves nothing: %d resolved, %d contradictions", resolved, pairs)
	}
}
