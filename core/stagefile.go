package core

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// StageFile is the YAML file given with -config:
//
//	engine: "26.1"   # optional: the profile
//	stages: [network, storage, pki, args, engine]   # optional: the profile's list
//	swarm:           # optional: as the -swarm-* flags, which win
//	  join: manager1:2377
//	  role: manager
type StageFile struct {
	Engine string   `yaml:"engine"`
	Stages []string `yaml:"stages"`
	Swarm  *Swarm   `yaml:"swarm"`
}

// ReadStageFile reads and parses the stage file at path. Every error is a
// UsageError that starts with the path (and the line, where YAML gives one).
func ReadStageFile(path string) (*StageFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Usagef("%s: %v", path, unwrapPathError(err))
	}
	return ParseStageFile(path, data)
}

// ParseStageFile parses a stage file's content; name is used in errors. It
// checks the file's form (unknown keys, wrong types, an empty list); the
// names in it are checked by Catalogue.Resolve.
func ParseStageFile(name string, data []byte) (*StageFile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f StageFile
	if err := dec.Decode(&f); err != nil {
		if err == io.EOF {
			return nil, Usagef("%s: empty file, want a 'stages:' list", name)
		}
		return nil, Usagef("%s: %s", name, yamlMessage(err, data))
	}
	if len(f.Stages) == 0 && f.Swarm == nil {
		return nil, Usagef("%s: no stages listed, want a 'stages:' list", name)
	}
	for i, s := range f.Stages {
		if strings.TrimSpace(s) == "" {
			return nil, Usagef("%s: stage %d is empty", name, i+1)
		}
	}
	return &f, nil
}

// yamlMessage turns yaml.v3's "yaml: line 3: ..." and "yaml: unmarshal
// errors:\n  line 2: ..." into one line: "line 3: ...".
func yamlMessage(err error, data []byte) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if strings.Contains(msg, "found a tab character") {
		// yaml.v3 names the line of the enclosing block, not the tab's.
		if n := tabIndentedLine(data); n > 0 {
			return fmt.Sprintf("line %d: a tab in the indentation (YAML indents with spaces)", n)
		}
	}
	msg = strings.ReplaceAll(msg, "not found in type core.StageFile", "is not a known key (known: engine, stages, swarm)")
	msg = strings.ReplaceAll(msg, "not found in type core.Swarm", "is not a known swarm key (known: init, join, role, advertise, token-file, timeout)")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	lines := strings.Split(msg, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}

// tabIndentedLine returns the number of the first line indented with a tab, or 0.
func tabIndentedLine(data []byte) int {
	for i, line := range strings.Split(string(data), "\n") {
		indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		if strings.Contains(indent, "\t") {
			return i + 1
		}
	}
	return 0
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
