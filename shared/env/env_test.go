package env_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/shared/env"
)

func TestVars(t *testing.T) {
	tests := []struct {
		name    string
		vars    map[string]string
		read    func(*env.Vars) any
		want    any
		wantErr string
	}{
		{"required set", map[string]string{"T": "x"}, func(v *env.Vars) any { return v.Required("T") }, "x", ""},
		{"required unset", nil, func(v *env.Vars) any { return v.Required("T") }, "", "T: is not set"},
		{"string default", nil, func(v *env.Vars) any { return v.String("S", "d") }, "d", ""},
		{"secret short", map[string]string{"K": "short"}, func(v *env.Vars) any { return v.Secret("K", 16) }, "short", "K: must be at least 16 characters"},
		{"duration default", nil, func(v *env.Vars) any { return v.Duration("D", time.Second) }, time.Second, ""},
		{"duration set", map[string]string{"D": "250ms"}, func(v *env.Vars) any { return v.Duration("D", time.Second) }, 250 * time.Millisecond, ""},
		{"duration bad", map[string]string{"D": "soon"}, func(v *env.Vars) any { return v.Duration("D", time.Second) }, time.Second, `D: want a positive duration such as 10s, got "soon"`},
		{"duration zero", map[string]string{"D": "0s"}, func(v *env.Vars) any { return v.Duration("D", time.Second) }, time.Second, "D: want a positive duration"},
		{"int set", map[string]string{"N": "7"}, func(v *env.Vars) any { return v.Int("N", 1, 1) }, 7, ""},
		{"int under", map[string]string{"N": "0"}, func(v *env.Vars) any { return v.Int("N", 1, 1) }, 1, `N: want a whole number >= 1, got "0"`},
		{"bool set", map[string]string{"B": "true"}, func(v *env.Vars) any { return v.Bool("B", false) }, true, ""},
		{"bool bad", map[string]string{"B": "yes"}, func(v *env.Vars) any { return v.Bool("B", false) }, false, `B: want true or false, got "yes"`},
		{"prefixes", map[string]string{"P": "127.0.0.1/8, ::1/128"}, func(v *env.Vars) any { return v.Prefixes("P") },
			[]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}, ""},
		{"prefixes empty", map[string]string{"P": ""}, func(v *env.Vars) any { return v.Prefixes("P") }, []netip.Prefix(nil), ""},
		{"prefixes bad", map[string]string{"P": "10.0.0.0/33"}, func(v *env.Vars) any { return v.Prefixes("P") }, []netip.Prefix(nil), "P: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := env.Map(tt.vars)
			got := tt.read(v)
			if !equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			err := v.Err()
			if tt.wantErr == "" && err != nil {
				t.Errorf("unexpected error %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func equal(a, b any) bool {
	if pa, ok := a.([]netip.Prefix); ok {
		return slices.Equal(pa, b.([]netip.Prefix))
	}
	return a == b
}

func TestVarsGatherEveryErrorAndEveryName(t *testing.T) {
	v := env.Map(map[string]string{"A": "x", "D": "bad"})
	v.Required("A")
	v.Required("MISSING")
	v.Required("MISSING") // read by two settings: one problem
	v.Duration("D", time.Second)
	v.Bool("UNSET", false)
	if got, want := v.Asked(), []string{"A", "D", "MISSING", "UNSET"}; !slices.Equal(got, want) {
		t.Errorf("Asked() = %v, want %v", got, want)
	}
	err := v.Err()
	if err == nil || !strings.Contains(err.Error(), "MISSING: is not set") || !strings.Contains(err.Error(), "D: want") {
		t.Errorf("Err() = %v, want both problems", err)
	}
	if n := strings.Count(err.Error(), "MISSING"); n != 1 {
		t.Errorf("Err() = %v: MISSING named %d times, want once", err, n)
	}
}

func TestSecretNeverInError(t *testing.T) {
	v := env.Map(map[string]string{"K": "hunter2"})
	v.Secret("K", 16)
	if err := v.Err(); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Err() = %v: want an error without the value", err)
	}
}
