// Package env reads a process's configuration from its environment variables. Every variable
// wagate reads goes through a Vars, which parses each kind of value one way, gathers every bad
// setting into one error, and remembers which names were asked for, so a test can hold what the
// code reads against what template.yaml sets.
package env

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Vars reads variables through a getenv function (the process's own in production).
type Vars struct {
	getenv func(string) string
	asked  map[string]bool
	errs   []error
}

// New returns Vars reading through getenv.
func New(getenv func(string) string) *Vars {
	return &Vars{getenv: getenv, asked: map[string]bool{}}
}

// Map returns Vars reading from m, for tests and the local stack.
func Map(m map[string]string) *Vars {
	return New(func(k string) string { return m[k] })
}

func (v *Vars) get(name string) string {
	v.asked[name] = true
	return v.getenv(name)
}

// fail records a problem once: a variable two settings read is reported once.
func (v *Vars) fail(name, format string, args ...any) {
	err := fmt.Errorf("%s: "+format, append([]any{name}, args...)...)
	if !slices.ContainsFunc(v.errs, func(e error) bool { return e.Error() == err.Error() }) {
		v.errs = append(v.errs, err)
	}
}

// Required returns a variable that must be set.
func (v *Vars) Required(name string) string {
	s := v.get(name)
	if s == "" {
		v.fail(name, "is not set")
	}
	return s
}

// String returns a variable, or def when it is unset.
func (v *Vars) String(name, def string) string {
	if s := v.get(name); s != "" {
		return s
	}
	return def
}

// Secret returns a variable that must be set to at least minLen characters; its value never
// appears in an error.
func (v *Vars) Secret(name string, minLen int) string {
	s := v.get(name)
	if len(s) < minLen {
		v.fail(name, "must be at least %d characters", minLen)
	}
	return s
}

// Duration returns a positive duration such as 10s, or def when the variable is unset.
func (v *Vars) Duration(name string, def time.Duration) time.Duration {
	s := v.get(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		v.fail(name, "want a positive duration such as 10s, got %q", s)
		return def
	}
	return d
}

// Int returns a whole number of at least lowest, or def when the variable is unset.
func (v *Vars) Int(name string, def, lowest int) int {
	s := v.get(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lowest {
		v.fail(name, "want a whole number >= %d, got %q", lowest, s)
		return def
	}
	return n
}

// Bool returns true or false (as strconv.ParseBool reads them), or def when the variable is
// unset.
func (v *Vars) Bool(name string, def bool) bool {
	s := v.get(name)
	if s == "" {
		return def
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		v.fail(name, "want true or false, got %q", s)
		return def
	}
	return b
}

// Prefixes returns a comma-separated list of CIDRs, masked; none when the variable is unset.
func (v *Vars) Prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for part := range strings.SplitSeq(v.get(name), ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			v.fail(name, "%v", err)
			continue
		}
		out = append(out, p.Masked())
	}
	return out
}

// Parse returns parse's value of a variable, or def when it is unset.
func Parse[T any](v *Vars, name string, def T, parse func(string) (T, error)) T {
	s := v.get(name)
	if s == "" {
		return def
	}
	t, err := parse(s)
	if err != nil {
		v.fail(name, "%v", err)
		return def
	}
	return t
}

// Unset checks that a variable which does not apply to this configuration is not set (a
// forgotten setting is a mistake worth reporting); it is not counted as read.
func (v *Vars) Unset(name, why string) {
	if v.getenv(name) != "" {
		v.fail(name, "is only read %s", why)
	}
}

// Fail records a setting that is wrong in a way only the caller can tell, e.g. two variables
// that disagree.
func (v *Vars) Fail(err error) {
	v.errs = append(v.errs, err)
}

// Err returns every problem found so far, or nil.
func (v *Vars) Err() error {
	return errors.Join(v.errs...)
}

// Asked returns the names read so far, sorted.
func (v *Vars) Asked() []string {
	names := make([]string, 0, len(v.asked))
	for k := range v.asked {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
