package core

import (
	"fmt"
	"sort"
	"strings"
)

// Catalogue is the set of stages dinv can run, by name. It is built once by
// cmd/dinv from explicit constructors and never changes afterwards.
type Catalogue struct {
	byName map[string]Stage
}

// NewCatalogue returns a catalogue of the given stages; two with one name is
// a programming error and panics.
func NewCatalogue(stages ...Stage) *Catalogue {
	c := &Catalogue{byName: make(map[string]Stage, len(stages))}
	for _, s := range stages {
		if _, dup := c.byName[s.Name()]; dup {
			panic("core: two stages named " + s.Name())
		}
		c.byName[s.Name()] = s
	}
	return c
}

// Names lists the catalogue's stage names, sorted.
func (c *Catalogue) Names() []string {
	names := make([]string, 0, len(c.byName))
	for n := range c.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Resolve checks a stage list whole, against the catalogue and the
// configuration, and returns its stages in order. Every problem it finds is
// reported at once, as one UsageError: unknown names (with the known ones),
// duplicates, prerequisites missing or listed after the stage needing them, and
// what the stages' Validate methods reject. source names where the list comes
// from (a YAML file's path, "" for a profile's list) and prefixes the list's
// own problems; the stages' complaints name their flags themselves.
func (c *Catalogue) Resolve(names []string, source string, cfg *Config, p *Profile) ([]Stage, error) {
	var problems []string
	stages := make([]Stage, 0, len(names))
	pos := make(map[string]int, len(names))
	for i, n := range names {
		s, ok := c.byName[n]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("unknown stage %q (known: %s)", n, strings.Join(c.Names(), ", ")))
			continue
		case pos[n] > 0:
			problems = append(problems, fmt.Sprintf("stage %q is listed twice", n))
			continue
		}
		pos[n] = i + 1
		stages = append(stages, s)
	}
	for _, s := range stages {
		r, ok := s.(Requirer)
		if !ok {
			continue
		}
		for _, need := range r.Requires(cfg) {
			switch {
			case pos[need] == 0:
				problems = append(problems, fmt.Sprintf("stage %q needs stage %q, which is not in the list", s.Name(), need))
			case pos[need] > pos[s.Name()]:
				problems = append(problems, fmt.Sprintf("stage %q needs stage %q before it", s.Name(), need))
			}
		}
	}
	problems = append(problems, phaseProblems(stages)...)
	if source != "" && len(problems) > 0 {
		problems[0] = source + ": " + problems[0]
	}
	for _, s := range stages {
		if v, ok := s.(Validator); ok {
			if err := v.Validate(cfg, p); err != nil {
				problems = append(problems, err.Error())
			}
		}
	}
	if len(problems) > 0 {
		return nil, &UsageError{msg: strings.Join(problems, "; ")}
	}
	return stages, nil
}

// phaseProblems says where a list's phases go back (a stage that prepares
// after the engine started), and where more than one stage starts the
// engine or one needs it running with none to start it.
func phaseProblems(stages []Stage) []string {
	var problems []string
	var starter string
	last := Prepare
	for _, s := range stages {
		p := PhaseOf(s)
		switch {
		case p < last:
			problems = append(problems, fmt.Sprintf("stage %q (%s) is listed after the engine started: it must come before %q", s.Name(), p, starter))
		case p == Start && starter != "":
			problems = append(problems, fmt.Sprintf("stages %q and %q both start the engine", starter, s.Name()))
		case p == Running && starter == "":
			problems = append(problems, fmt.Sprintf("stage %q needs the engine running, and no stage before it starts it", s.Name()))
		}
		if p == Start && starter == "" {
			starter = s.Name()
		}
		last = max(last, p)
	}
	return problems
}
