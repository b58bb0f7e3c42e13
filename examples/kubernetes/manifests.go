// Package kubernetes reads the example manifests beside it (arc-values.yaml,
// pod.yaml, gitlab-runner-config.toml, gitlab-ci.yml) into typed values: the
// subset of Kubernetes' pod spec, of the actions-runner-controller chart's
// values and of GitLab Runner's configuration that the examples use. A field
// the types do not know is an error, so that a misspelt key fails the unit
// test (manifests_test.go) instead of being ignored by a cluster. The
// end-to-end test (test/e2e/kubernetes_test.go) builds its containers from
// these values, so that it runs what the manifests say.
package kubernetes

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"
)

// Dir is the directory of the example manifests (this file's).
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// PodSpec is the part of a Kubernetes pod spec the examples use.
type PodSpec struct {
	RestartPolicy   string              `yaml:"restartPolicy"`
	InitContainers  []Container         `yaml:"initContainers"`
	Containers      []Container         `yaml:"containers"`
	SecurityContext *PodSecurityContext `yaml:"securityContext"`
	Volumes         []Volume            `yaml:"volumes"`
}

// Container is one container of a pod.
type Container struct {
	Name            string           `yaml:"name"`
	Image           string           `yaml:"image"`
	Command         []string         `yaml:"command"`
	Args            []string         `yaml:"args"`
	Env             []EnvVar         `yaml:"env"`
	SecurityContext *SecurityContext `yaml:"securityContext"`
	// RestartPolicy Always on an init container makes it a native sidecar
	// (Kubernetes 1.29+).
	RestartPolicy string        `yaml:"restartPolicy"`
	StartupProbe  *Probe        `yaml:"startupProbe"`
	VolumeMounts  []VolumeMount `yaml:"volumeMounts"`
}

// EnvVar is a literal environment variable.
type EnvVar struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

// SecurityContext is a container's.
type SecurityContext struct {
	Privileged               *bool         `yaml:"privileged"`
	RunAsUser                *int64        `yaml:"runAsUser"`
	RunAsNonRoot             *bool         `yaml:"runAsNonRoot"`
	AllowPrivilegeEscalation *bool         `yaml:"allowPrivilegeEscalation"`
	Capabilities             *Capabilities `yaml:"capabilities"`
}

// Capabilities added and dropped.
type Capabilities struct {
	Add  []string `yaml:"add"`
	Drop []string `yaml:"drop"`
}

// PodSecurityContext is the pod's.
type PodSecurityContext struct {
	SupplementalGroups []int64 `yaml:"supplementalGroups"`
}

// Probe is an exec probe.
type Probe struct {
	Exec                *ExecAction `yaml:"exec"`
	InitialDelaySeconds int         `yaml:"initialDelaySeconds"`
	PeriodSeconds       int         `yaml:"periodSeconds"`
	FailureThreshold    int         `yaml:"failureThreshold"`
}

// ExecAction is the command a probe runs in the container.
type ExecAction struct {
	Command []string `yaml:"command"`
}

// VolumeMount mounts a pod volume into a container.
type VolumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
	ReadOnly  bool   `yaml:"readOnly"`
}

// Volume is a pod volume; the examples use emptyDirs only.
type Volume struct {
	Name     string    `yaml:"name"`
	EmptyDir *EmptyDir `yaml:"emptyDir"`
}

// EmptyDir is a volume that lives as long as the pod, world-writable.
type EmptyDir struct {
	Medium string `yaml:"medium"`
}

// Pod is a pod manifest (pod.yaml).
type Pod struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec PodSpec `yaml:"spec"`
}

// ARCValues are the gha-runner-scale-set chart's values (arc-values.yaml).
type ARCValues struct {
	GithubConfigURL    string `yaml:"githubConfigUrl"`
	GithubConfigSecret string `yaml:"githubConfigSecret"`
	ContainerMode      *struct {
		Type string `yaml:"type"`
	} `yaml:"containerMode"`
	Template struct {
		Spec PodSpec `yaml:"spec"`
	} `yaml:"template"`
}

// GitLabConfig is GitLab Runner's config.toml (gitlab-runner-config.toml).
type GitLabConfig struct {
	Concurrent int            `toml:"concurrent"`
	Runners    []GitLabRunner `toml:"runners"`
}

// GitLabRunner is one [[runners]] entry.
type GitLabRunner struct {
	Name       string           `toml:"name"`
	URL        string           `toml:"url"`
	Token      string           `toml:"token"`
	Executor   string           `toml:"executor"`
	Kubernetes GitLabKubernetes `toml:"kubernetes"`
}

// GitLabKubernetes is [runners.kubernetes].
type GitLabKubernetes struct {
	Namespace                       string                `toml:"namespace"`
	Image                           string                `toml:"image"`
	Privileged                      *bool                 `toml:"privileged"`
	ServiceContainerSecurityContext GitLabSecurityContext `toml:"service_container_security_context"`
	BuildContainerSecurityContext   GitLabSecurityContext `toml:"build_container_security_context"`
	Volumes                         struct {
		EmptyDir []GitLabEmptyDir `toml:"empty_dir"`
	} `toml:"volumes"`
	Services []GitLabService `toml:"services"`
}

// GitLabSecurityContext is a [runners.kubernetes.*_container_security_context].
type GitLabSecurityContext struct {
	Privileged               *bool  `toml:"privileged"`
	AllowPrivilegeEscalation *bool  `toml:"allow_privilege_escalation"`
	RunAsUser                *int64 `toml:"run_as_user"`
}

// GitLabEmptyDir is a [[runners.kubernetes.volumes.empty_dir]].
type GitLabEmptyDir struct {
	Name      string `toml:"name"`
	MountPath string `toml:"mount_path"`
	Medium    string `toml:"medium"`
}

// GitLabService is a [[runners.kubernetes.services]].
type GitLabService struct {
	Name  string `toml:"name"`
	Alias string `toml:"alias"`
}

// GitLabJob is one job of a .gitlab-ci.yml (gitlab-ci.yml).
type GitLabJob struct {
	Image struct {
		Name       string   `yaml:"name"`
		Entrypoint []string `yaml:"entrypoint"`
	} `yaml:"image"`
	Services  []GitLabService   `yaml:"services"`
	Variables map[string]string `yaml:"variables"`
	Script    []string          `yaml:"script"`
}

// LoadPod reads pod.yaml.
func LoadPod(path string) (Pod, error) {
	var p Pod
	return p, loadYAML(path, &p)
}

// LoadARCValues reads arc-values.yaml.
func LoadARCValues(path string) (ARCValues, error) {
	var v ARCValues
	return v, loadYAML(path, &v)
}

// LoadGitLabCI reads gitlab-ci.yml: its jobs by name.
func LoadGitLabCI(path string) (map[string]GitLabJob, error) {
	var jobs map[string]GitLabJob
	return jobs, loadYAML(path, &jobs)
}

// LoadGitLabConfig reads gitlab-runner-config.toml; a key the types do not
// know is an error.
func LoadGitLabConfig(path string) (GitLabConfig, error) {
	var c GitLabConfig
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		keys := make([]string, len(u))
		for i, k := range u {
			keys[i] = k.String()
		}
		return c, fmt.Errorf("%s: unknown keys %s", path, strings.Join(keys, ", "))
	}
	return c, nil
}

// loadYAML decodes one YAML document strictly (unknown fields are errors).
func loadYAML(path string, out interface{}) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Container returns the pod's container (init or main) of that name.
func (s PodSpec) Container(name string) (Container, bool) {
	for _, c := range append(append([]Container(nil), s.InitContainers...), s.Containers...) {
		if c.Name == name {
			return c, true
		}
	}
	return Container{}, false
}

// Volume returns the pod's volume of that name.
func (s PodSpec) Volume(name string) (Volume, bool) {
	for _, v := range s.Volumes {
		if v.Name == name {
			return v, true
		}
	}
	return Volume{}, false
}

// Sidecar reports whether c is a native sidecar: an init container with
// restartPolicy Always.
func (s PodSpec) Sidecar(name string) bool {
	for _, c := range s.InitContainers {
		if c.Name == name {
			return c.RestartPolicy == "Always"
		}
	}
	return false
}

// Getenv is the value of the container's environment variable, "" if unset.
func (c Container) Getenv(name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// Mounts maps the container's mount paths to the volumes mounted there.
func (c Container) Mounts() map[string]string {
	m := map[string]string{}
	for _, v := range c.VolumeMounts {
		m[v.MountPath] = v.Name
	}
	return m
}

// Privileged reports whether the container asks for privileged.
func (c Container) Privileged() bool {
	return c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// Expand replaces $(VAR) in command and args with the container's
// environment, as the kubelet does; a reference to an unset variable stays
// as it is, as there.
func (c Container) Expand(words []string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = varRef.ReplaceAllStringFunc(w, func(ref string) string {
			name := varRef.FindStringSubmatch(ref)[1]
			for _, e := range c.Env {
				if e.Name == name {
					return e.Value
				}
			}
			return ref
		})
	}
	return out
}
