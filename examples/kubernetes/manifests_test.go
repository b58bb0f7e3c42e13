package kubernetes

import (
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// No cluster runs here: these tests read the manifests (strictly: unknown
// fields fail) and check the fields test/e2e/kubernetes_test.go relies on
// when it builds the same pods from containers, volumes and a shared network
// namespace on a Docker engine.

// dinvImage reports whether image is a DinV image (repository .../dinv).
func dinvImage(image string) bool {
	repo, _, _ := strings.Cut(image, ":")
	return path.Base(repo) == "dinv" && strings.Contains(image, ":")
}

// checkPod checks what every example pod shares: each mount names a
// declared emptyDir, only the DinV container is privileged, and the DinV
// container is a native sidecar with a startup probe of `docker info`.
func checkPod(t *testing.T, spec PodSpec, sidecar string) Container {
	t.Helper()
	for _, v := range spec.Volumes {
		if v.EmptyDir == nil {
			t.Errorf("volume %s is not an emptyDir (the e2e test makes emptyDirs only)", v.Name)
		}
	}
	for _, c := range append(append([]Container(nil), spec.InitContainers...), spec.Containers...) {
		for _, m := range c.VolumeMounts {
			if _, ok := spec.Volume(m.Name); !ok {
				t.Errorf("%s mounts %s at %s: no such volume", c.Name, m.Name, m.MountPath)
			}
		}
		if c.Privileged() != (c.Name == sidecar) {
			t.Errorf("%s: privileged %v; only %s may be (least privilege)", c.Name, c.Privileged(), sidecar)
		}
	}
	d, ok := spec.Container(sidecar)
	if !ok {
		t.Fatalf("no container %s", sidecar)
	}
	if !spec.Sidecar(sidecar) {
		t.Errorf("%s is not a native sidecar (an init container with restartPolicy: Always)", sidecar)
	}
	if !dinvImage(d.Image) {
		t.Errorf("%s: image %q is not DinV's", sidecar, d.Image)
	}
	if d.StartupProbe == nil || d.StartupProbe.Exec == nil || !reflect.DeepEqual(d.StartupProbe.Exec.Command, []string{"docker", "info"}) {
		t.Errorf("%s: startup probe %+v, want exec docker info", sidecar, d.StartupProbe)
	}
	return d
}

func TestARCValues(t *testing.T) {
	v, err := LoadARCValues(filepath.Join(Dir(), "arc-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if v.ContainerMode != nil {
		t.Errorf("containerMode %+v: it must stay empty for the chart to take the template as written", v.ContainerMode)
	}
	spec := v.Template.Spec
	dind := checkPod(t, spec, "dind")
	gid := dind.Getenv("DOCKER_GROUP_GID")
	if _, err := strconv.Atoi(gid); err != nil {
		t.Fatalf("DOCKER_GROUP_GID %q is not a number", gid)
	}
	// The chart's arguments, unchanged, and what the kubelet makes of them.
	if want := []string{"dockerd", "--host=unix:///var/run/docker.sock", "--group=$(DOCKER_GROUP_GID)"}; !reflect.DeepEqual(dind.Args, want) {
		t.Errorf("dind args %q, want the chart's %q", dind.Args, want)
	}
	if got, want := dind.Expand(dind.Args), []string{"dockerd", "--host=unix:///var/run/docker.sock", "--group=" + gid}; !reflect.DeepEqual(got, want) {
		t.Errorf("dind args expanded %q, want %q", got, want)
	}
	if dind.Command != nil {
		t.Errorf("dind command %q: DinV's entrypoint must run", dind.Command)
	}
	runner, ok := spec.Container("runner")
	if !ok {
		t.Fatal("no runner container")
	}
	if got := runner.Getenv("DOCKER_HOST"); got != "unix:///var/run/docker.sock" {
		t.Errorf("runner DOCKER_HOST %q, want the sidecar's socket", got)
	}
	if sc := runner.SecurityContext; sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 1001 {
		t.Errorf("runner security context %+v: want runAsUser 1001", sc)
	}
	groups := []int64(nil)
	if spec.SecurityContext != nil {
		groups = spec.SecurityContext.SupplementalGroups
	}
	if !reflect.DeepEqual(groups, []int64{int64(atoi(t, gid))}) {
		t.Errorf("pod supplementalGroups %v, want the socket's group %s", groups, gid)
	}
	// Both containers see the socket's directory and the work directory at
	// the same paths, from the same volumes: bind mounts of the work
	// directory resolve in the sidecar.
	dm, rm := dind.Mounts(), runner.Mounts()
	for _, p := range []string{"/var/run", "/home/runner/_work"} {
		if dm[p] == "" || dm[p] != rm[p] {
			t.Errorf("%s: the sidecar mounts %q, the runner %q: want the same volume", p, dm[p], rm[p])
		}
	}
	if dm["/home/runner/externals"] != "dind-externals" {
		t.Errorf("the sidecar mounts %q at /home/runner/externals, want dind-externals", dm["/home/runner/externals"])
	}
}

func TestGitLabRunnerConfig(t *testing.T) {
	c, err := LoadGitLabConfig(filepath.Join(Dir(), "gitlab-runner-config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Runners) != 1 {
		t.Fatalf("%d runners, want 1", len(c.Runners))
	}
	k := c.Runners[0].Kubernetes
	if c.Runners[0].Executor != "kubernetes" {
		t.Errorf("executor %q", c.Runners[0].Executor)
	}
	if k.Privileged == nil || *k.Privileged {
		t.Error("[runners.kubernetes] privileged must be false: only the service container is privileged")
	}
	if p := k.ServiceContainerSecurityContext.Privileged; p == nil || !*p {
		t.Error("the service container is not privileged")
	}
	if len(k.Services) != 1 || !dinvImage(k.Services[0].Name) || k.Services[0].Alias != "docker" {
		t.Errorf("services %+v, want DinV with the alias docker", k.Services)
	}
	certs := ""
	for _, e := range k.Volumes.EmptyDir {
		if e.MountPath == "/certs/client" {
			certs = e.Name
		}
	}
	if certs == "" {
		t.Errorf("no emptyDir at /certs/client: %+v", k.Volumes.EmptyDir)
	}

	jobs, err := LoadGitLabCI(filepath.Join(Dir(), "gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	job, ok := jobs["build"]
	if !ok {
		t.Fatalf("no job build in %v", jobs)
	}
	want := map[string]string{"DOCKER_HOST": "tcp://localhost:2376", "DOCKER_TLS_CERTDIR": "/certs", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/certs/client"}
	if !reflect.DeepEqual(job.Variables, want) {
		t.Errorf("job variables %v, want %v", job.Variables, want)
	}
	if !dinvImage(job.Image.Name) || !reflect.DeepEqual(job.Image.Entrypoint, []string{""}) {
		t.Errorf("job image %+v: want DinV's with the entrypoint emptied", job.Image)
	}
}

func TestPodWithANativeSidecar(t *testing.T) {
	p, err := LoadPod(filepath.Join(Dir(), "pod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if p.APIVersion != "v1" || p.Kind != "Pod" {
		t.Errorf("%s %s, want v1 Pod", p.APIVersion, p.Kind)
	}
	dinv := checkPod(t, p.Spec, "dinv")
	if got := dinv.Getenv("DOCKER_TLS_CERTDIR"); got != "/certs" {
		t.Errorf("DOCKER_TLS_CERTDIR %q, want /certs", got)
	}
	dm := dinv.Mounts()
	for _, path := range []string{"/certs", "/certs/client", "/var/run", "/var/lib/docker"} {
		if dm[path] == "" {
			t.Errorf("the sidecar mounts nothing at %s: it must outlive a restart of the sidecar", path)
		}
	}
	job, ok := p.Spec.Container("job")
	if !ok {
		t.Fatal("no job container")
	}
	for name, want := range map[string]string{"DOCKER_HOST": "tcp://localhost:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/certs/client"} {
		if got := job.Getenv(name); got != want {
			t.Errorf("job %s=%q, want %q", name, got, want)
		}
	}
	sc := job.SecurityContext
	if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser == 0 || sc.Capabilities == nil || !reflect.DeepEqual(sc.Capabilities.Drop, []string{"ALL"}) {
		t.Errorf("job security context %+v: want a user other than root and every capability dropped", sc)
	}
	var clientMount *VolumeMount
	for i, m := range job.VolumeMounts {
		if m.MountPath == "/certs/client" {
			clientMount = &job.VolumeMounts[i]
		}
	}
	if clientMount == nil || clientMount.Name != dm["/certs/client"] || !clientMount.ReadOnly {
		t.Errorf("the job mounts %+v at /certs/client, want the sidecar's %s, read-only", clientMount, dm["/certs/client"])
	}
	if len(job.VolumeMounts) != 1 {
		t.Errorf("the job mounts %+v: only the client files", job.VolumeMounts)
	}
}

func TestLoadRefusesAnUnknownField(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "pod.yaml")
	writeFile(t, bad, "apiVersion: v1\nkind: Pod\nspec:\n  initContainers:\n    - name: dinv\n      restartPolicies: Always\n")
	if _, err := LoadPod(bad); err == nil || !strings.Contains(err.Error(), "restartPolicies") {
		t.Errorf("LoadPod of a misspelt field: %v, want an error naming it", err)
	}
	badTOML := filepath.Join(dir, "config.toml")
	writeFile(t, badTOML, "[[runners]]\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    privilegd = true\n")
	if _, err := LoadGitLabConfig(badTOML); err == nil || !strings.Contains(err.Error(), "privilegd") {
		t.Errorf("LoadGitLabConfig of a misspelt key: %v, want an error naming it", err)
	}
}

func TestExpandAsTheKubelet(t *testing.T) {
	c := Container{Env: []EnvVar{{Name: "GID", Value: "123"}}}
	got := c.Expand([]string{"--group=$(GID)", "$(UNSET)", "$GID", "plain"})
	if want := []string{"--group=123", "$(UNSET)", "$GID", "plain"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Expand = %q, want %q", got, want)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
