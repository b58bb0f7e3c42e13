package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// placed returns the flags that put everything dinv touches under dir.
func placed(dir string) []string {
	return []string{
		"-certs", filepath.Join(dir, "certs"),
		"-data-root", filepath.Join(dir, "data"),
		"-exec-root", filepath.Join(dir, "exec"),
		"-pidfile", filepath.Join(dir, "docker.pid"),
		"-socket", filepath.Join(dir, "docker.sock"),
	}
}

func runDinv(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(append([]string{"/dinv"}, args...), env(vars), &out, &errOut, nil)
	return code, out.String(), errOut.String()
}

// commandLines decodes -dry-run's stdout: one JSON array of strings a line.
func commandLines(t *testing.T, stdout string) [][]string {
	t.Helper()
	var cmds [][]string
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		var args []string
		if err := json.Unmarshal([]byte(line), &args); err != nil || len(args) == 0 {
			t.Fatalf("stdout line %q is not a JSON array of strings: %v", line, err)
		}
		cmds = append(cmds, args)
	}
	return cmds
}

// hasInOrder reports whether want appear in args, in this order.
func hasInOrder(args []string, want ...string) bool {
	i := 0
	for _, a := range args {
		if i < len(want) && a == want[i] {
			i++
		}
	}
	return i == len(want)
}

func TestDryRunTLSVerifyEndToEnd(t *testing.T) {
	dir := t.TempDir()
	args := append([]string{"-dry-run", "-engine-version", "26.1", "-tlsverify", "-insecure-registry", "reg:5000"}, placed(dir)...)
	code, stdout, stderr := runDinv(t, nil, append(args, "--", "--log-level=warn")...)
	if code != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", code, stderr)
	}
	cmds := commandLines(t, stdout)
	if len(cmds) != 1 {
		t.Fatalf("got %d command lines, want 1: %q", len(cmds), cmds)
	}
	certs := filepath.Join(dir, "certs")
	engine := cmds[0]
	if engine[0] != "dockerd" || !hasInOrder(engine,
		"--host=unix://"+filepath.Join(dir, "docker.sock"),
		"--host=fd://",
		"--tlsverify",
		"--tlscacert="+filepath.Join(certs, "ca.crt"),
		"--tlscert="+filepath.Join(certs, "docker.crt"),
		"--tlskey="+filepath.Join(certs, "docker.key"),
		"--data-root="+filepath.Join(dir, "data"),
		"--exec-root="+filepath.Join(dir, "exec"),
		"--pidfile="+filepath.Join(dir, "docker.pid"),
	) || !hasInOrder(engine, "--insecure-registry=reg:5000", "--log-level=warn") || engine[len(engine)-1] != "--log-level=warn" {
		t.Errorf("engine command line = %q", engine)
	}
	// -dry-run writes nothing: the directory holds what the test made.
	var made []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if path != dir {
			made = append(made, path)
		}
		return err
	})
	if len(made) != 0 {
		t.Errorf("-dry-run wrote %q", made)
	}
	for _, want := range []string{"ca.crt", "docker-client.key"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say a real start would generate %s:\n%s", want, stderr)
		}
	}
}

func TestDryRun112PrintsContainerdThenTheDaemon(t *testing.T) {
	dir := t.TempDir()
	args := append([]string{"-dry-run", "-engine-version", "1.12", "-local", "-storage", "vfs"}, placed(dir)...)
	code, stdout, stderr := runDinv(t, map[string]string{"DEBUG": "1"}, args...)
	if code != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", code, stderr)
	}
	cmds := commandLines(t, stdout)
	if len(cmds) != 2 || cmds[0][0] != "docker-containerd" ||
		!hasInOrder(cmds[1], "docker", "daemon", "--containerd=/run/containerd.sock", "--graph="+filepath.Join(dir, "data"), "--storage-driver=vfs", "--debug") {
		t.Errorf("command lines = %q", cmds)
	}
	for _, line := range []string{"dinv.network: start", "dinv.cgroups: skipped", "dinv.stale: skipped", "dinv.args: done", "dinv.engine: skipped", "dinv.ready: skipped"} {
		if !strings.Contains(stderr, line) {
			t.Errorf("DEBUG=1 logs do not show %q:\n%s", line, stderr)
		}
	}
}

func TestBadInputExitsTwoNamingTheProblem(t *testing.T) {
	write := func(t *testing.T, content string) string {
		p := filepath.Join(t.TempDir(), "stages.yaml")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		args func(t *testing.T) []string
		want []string // parts of stderr
	}{
		{"an unknown flag", func(t *testing.T) []string { return []string{"-tlsverfy"} },
			[]string{"flag provided but not defined: -tlsverfy", "Run '/dinv -h' for usage."}},
		{"-port out of range", func(t *testing.T) []string { return []string{"-port", "70000"} },
			[]string{"-port 70000: out of range 1-65535"}},
		{"-storage with an unknown driver", func(t *testing.T) []string { return []string{"-storage", "aufs"} },
			[]string{`-storage \"aufs\"`, "known: overlay2"}},
		{"-insecure-registry with a scheme", func(t *testing.T) []string { return []string{"-insecure-registry", "http://reg:5000"} },
			[]string{`-insecure-registry \"http://reg:5000\": has a scheme`}},
		{"-insecure-registry with a path", func(t *testing.T) []string { return []string{"-insecure-registry", "reg:5000/v2"} },
			[]string{`-insecure-registry \"reg:5000/v2\"`}},
		{"-insecure-registry with spaces", func(t *testing.T) []string { return []string{"-insecure-registry", "reg 5000"} },
			[]string{`-insecure-registry \"reg 5000\": contains spaces`}},
		{"-insecure-registry with an empty entry", func(t *testing.T) []string { return []string{"-insecure-registry", "reg:5000,"} },
			[]string{`-insecure-registry \"\": empty entry`}},
		{"-engine-version unknown", func(t *testing.T) []string { return []string{"-engine-version", "19.03"} },
			[]string{`unknown engine version \"19.03\"`, "26.1"}},
		{"YAML with a syntax error reports its line", func(t *testing.T) []string {
			return []string{"-config", write(t, "engine: \"26.1\"\n\nstages:\n\t- network\n")}
		}, []string{"stages.yaml: line 4: found character that cannot start any token"}},
		{"YAML with an unknown stage lists the known ones", func(t *testing.T) []string {
			return []string{"-config", write(t, "stages: [network, certs, args]\n")}
		}, []string{`unknown stage \"certs\"`, "known: args, cgroups, engine"}},
		{"YAML with a duplicate", func(t *testing.T) []string {
			return []string{"-config", write(t, "stages: [network, args, args]\n")}
		}, []string{`stage \"args\" is listed twice`}},
		{"YAML missing a prerequisite names both", func(t *testing.T) []string {
			return []string{"-tlsverify", "-config", write(t, "stages: [network, storage, args]\n")}
		}, []string{`stage \"args\" needs stage \"pki\"`}},
		{"YAML with a wrong type reports its line", func(t *testing.T) []string {
			return []string{"-config", write(t, "engine: \"26.1\"\nstages: network\n")}
		}, []string{"stages.yaml: line 2"}},
		{"YAML naming an unknown engine", func(t *testing.T) []string {
			return []string{"-config", write(t, "engine: \"9.9\"\nstages: [network]\n")}
		}, []string{`unknown engine version \"9.9\"`}},
		{"a missing -config file", func(t *testing.T) []string {
			return []string{"-config", filepath.Join(t.TempDir(), "nope.yaml")}
		}, []string{"nope.yaml: no such file or directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"-dry-run"}, tt.args(t)...)
			if !strings.Contains(strings.Join(args, " "), "-engine-version") && !strings.Contains(strings.Join(args, " "), "-config") {
				args = append(args, "-engine-version", "26.1")
			}
			code, stdout, stderr := runDinv(t, nil, append(placed(dir), args...)...)
			if code != 2 {
				t.Errorf("exit code %d, want 2; stderr:\n%s", code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			for _, part := range tt.want {
				if !strings.Contains(stderr, part) {
					t.Errorf("stderr does not say %q:\n%s", part, stderr)
				}
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("bad input changed the placement directory: %v", entries)
			}
		})
	}
}

func TestTheImagesEngineVersionStandsInForDetectionOnly(t *testing.T) {
	for _, tc := range []struct {
		name   string
		vars   map[string]string
		yaml   string
		code   int
		engine string
		warn   bool
	}{
		{"the image's version picks its profile", map[string]string{"DINV_IMAGE_ENGINE_VERSION": "28.5.2"}, "", 0, "28.5", false},
		{"a version without a profile takes the nearest older, with a warning", map[string]string{"DINV_IMAGE_ENGINE_VERSION": "27.3.1"}, "", 0, "26.1", true},
		{"DINV_ENGINE_VERSION comes first", map[string]string{"DINV_IMAGE_ENGINE_VERSION": "28.5.2", "DINV_ENGINE_VERSION": "20.10"}, "", 0, "20.10", false},
		{"the YAML file's engine comes first", map[string]string{"DINV_IMAGE_ENGINE_VERSION": "28.5.2"}, "engine: \"1.13\"\nstages: [storage, args]\n", 0, "1.13", false},
		{"a version older than every profile is a usage error", map[string]string{"DINV_IMAGE_ENGINE_VERSION": "1.11.2"}, "", 2, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{"DEBUG": "1"}
			for k, v := range tc.vars {
				vars[k] = v
			}
			args := append([]string{"-dry-run", "-local"}, placed(t.TempDir())...)
			if tc.yaml != "" {
				p := filepath.Join(t.TempDir(), "stages.yaml")
				if err := os.WriteFile(p, []byte(tc.yaml), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "-config", p)
			}
			code, _, stderr := runDinv(t, vars, args...)
			if code != tc.code {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if tc.engine != "" && !strings.Contains(stderr, "dinv: plan: engine="+tc.engine+" ") {
				t.Errorf("profile is not %s:\n%s", tc.engine, stderr)
			}
			if got := strings.Contains(stderr, "nearest older"); got != tc.warn {
				t.Errorf("warning given = %v, want %v:\n%s", got, tc.warn, stderr)
			}
		})
	}
}

func TestDryRunShowsTheEngineFlagsGivenAsDockerDindTakesThem(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		args   []string
		has    []string
		hasNot []string
	}{
		{"trailing engine flags: the user's --storage-driver and --mtu replace dinv's, each passed once",
			[]string{"--registry-mirror=http://m:5000", "--mtu=1400", "--storage-driver=vfs"},
			[]string{"--storage-driver=vfs", "--mtu=1400", "--registry-mirror=http://m:5000"},
			[]string{"--storage-driver=overlay2"}},
		{"dinv dockerd --debug: exactly the engine's arguments, no listener or flag of dinv's",
			[]string{"dockerd", "--debug", "-H", "unix:///x.sock"},
			[]string{"dockerd", "--debug", "-H", "unix:///x.sock"}, []string{"--host=fd://", "--tls=false", "--data-root=" + filepath.Join(dir, "data")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-dry-run", "-engine-version", "26.1"}, tc.args...)
			if tc.args[0] != "dockerd" {
				args = append(append([]string{"-dry-run", "-engine-version", "26.1"}, placed(dir)...), tc.args...)
			}
			code, stdout, stderr := runDinv(t, nil, args...)
			if code != 0 {
				t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
			}
			lines := commandLines(t, stdout)
			engine := lines[len(lines)-1] // the engine's is the last (26.1: dinv's containerd first)
			count := map[string]int{}
			for _, a := range engine {
				name, _, _ := strings.Cut(a, "=")
				count[name]++
			}
			for _, want := range tc.has {
				if !hasInOrder(engine, want) {
					t.Errorf("engine command line lacks %q: %q", want, engine)
				}
			}
			for _, unwanted := range tc.hasNot {
				if hasInOrder(engine, unwanted) {
					t.Errorf("engine command line has %q: %q", unwanted, engine)
				}
			}
			for name, n := range count {
				// --host and --default-network-opt (one per driver) repeat by design.
				if n > 1 && name != "--host" && name != "--default-network-opt" {
					t.Errorf("%s passed %d times: %q", name, n, engine)
				}
			}
		})
	}
}
