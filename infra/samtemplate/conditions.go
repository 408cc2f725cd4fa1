package samtemplate

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/awslabs/goformation/v7/intrinsics"
)

// goformation's own Fn::If only reads a condition that is already a bool, which it never is
// unless the processor evaluates the Conditions section first (EvaluateConditions); and that
// option also replaces every resource carrying a Condition by the condition's value, losing it.
// So !If [Cond, a, b] is resolved here: Cond is evaluated with the parameters' defaults, the
// values the local stack and the tests deploy with (with TableCapacityMode's default,
// on-demand, the tables are created PAY_PER_REQUEST).

// ifHandler resolves Fn::If. An unknown or unsupported condition gives nil, as goformation
// does; checkConditions reports it when the template is loaded.
func ifHandler(_ string, input, template any) any {
	args, ok := input.([]any)
	if !ok || len(args) != 3 {
		return nil
	}
	name, _ := args[0].(string)
	v, err := namedCondition(name, template, nil)
	if err != nil {
		return nil
	}
	if v {
		return args[1]
	}
	return args[2]
}

// checkConditionsYAML runs checkConditions on the template as written (short-form intrinsics
// in their long form, nothing resolved), which is what the handlers see as their template.
func checkConditionsYAML(data []byte) error {
	asWritten, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return err
	}
	var template any
	if err := json.Unmarshal(asWritten, &template); err != nil {
		return err
	}
	return checkConditions(template)
}

// checkConditions evaluates every condition of the template, so a condition this package
// cannot evaluate fails Load instead of silently dropping what an Fn::If chose.
func checkConditions(template any) error {
	t, _ := template.(map[string]any)
	conds, _ := t["Conditions"].(map[string]any)
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(conds)) {
		if _, err := namedCondition(name, template, nil); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// namedCondition evaluates the condition called name; seen holds the conditions being
// evaluated, against cycles.
func namedCondition(name string, template any, seen []string) (bool, error) {
	if slices.Contains(seen, name) {
		return false, fmt.Errorf("condition %s refers to itself", name)
	}
	t, _ := template.(map[string]any)
	conds, _ := t["Conditions"].(map[string]any)
	expr, ok := conds[name]
	if !ok {
		return false, fmt.Errorf("no condition %q in the template", name)
	}
	v, err := evalCondition(expr, template, append(seen, name))
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	return v, nil
}

func evalCondition(expr, template any, seen []string) (bool, error) {
	switch v := expr.(type) {
	case bool:
		return v, nil
	case string:
		// goformation drops the !Condition tag (not among its short forms), leaving the name;
		// CloudFormation allows no other bare string where a condition goes.
		return namedCondition(v, template, seen)
	}
	m, ok := expr.(map[string]any)
	if !ok || len(m) != 1 {
		return false, fmt.Errorf("unsupported condition %v", expr)
	}
	for fn, arg := range m {
		if fn == "Condition" {
			name, _ := arg.(string)
			return namedCondition(name, template, seen)
		}
		args, _ := arg.([]any)
		switch fn {
		case "Fn::Equals":
			if len(args) != 2 {
				return false, fmt.Errorf("Fn::Equals takes 2 values, has %d", len(args))
			}
			a, err := conditionValue(args[0], template)
			if err != nil {
				return false, err
			}
			b, err := conditionValue(args[1], template)
			if err != nil {
				return false, err
			}
			return a == b, nil
		case "Fn::Not":
			if len(args) != 1 {
				return false, fmt.Errorf("Fn::Not takes 1 condition, has %d", len(args))
			}
			v, err := evalCondition(args[0], template, seen)
			return !v, err
		case "Fn::And", "Fn::Or":
			if len(args) < 2 {
				return false, fmt.Errorf("%s takes at least 2 conditions, has %d", fn, len(args))
			}
			and := fn == "Fn::And"
			for _, a := range args {
				v, err := evalCondition(a, template, seen)
				if err != nil {
					return false, err
				}
				if v != and {
					return v, nil
				}
			}
			return and, nil
		}
	}
	return false, fmt.Errorf("unsupported condition %v", expr)
}

// conditionValue is a value Fn::Equals compares: a literal, or a Ref of a parameter (its
// default) or of a pseudo parameter, as the string CloudFormation compares.
func conditionValue(v, template any) (string, error) {
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		if name, ok := m["Ref"].(string); ok {
			r := intrinsics.Ref("Ref", name, template)
			if r == nil {
				return "", fmt.Errorf("parameter %s has no default to compare", name)
			}
			v = r
		}
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", fmt.Errorf("unsupported value %v in Fn::Equals", v)
}
