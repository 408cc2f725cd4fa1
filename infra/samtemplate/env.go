package samtemplate

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// Env returns the environment variables the template gives a resource: for a function, the
// Globals' variables with its own over them, as SAM merges them; for an ECS task definition,
// its first container's. References to resources are placeholders for Resources.Resolve;
// parameters are their defaults.
func (t *Template) Env(logicalID string) (map[string]string, error) {
	var doc struct {
		Globals struct {
			Function struct {
				Environment struct{ Variables map[string]any }
			}
		}
		Resources map[string]struct {
			Type       string
			Properties struct {
				Environment          struct{ Variables map[string]any }
				ContainerDefinitions []struct {
					Environment []struct {
						Name  string
						Value any
					}
				}
			}
		}
	}
	if err := json.Unmarshal(t.raw, &doc); err != nil {
		return nil, fmt.Errorf("read environments: %w", err)
	}
	res, ok := doc.Resources[logicalID]
	if !ok {
		return nil, fmt.Errorf("no resource %s in the template", logicalID)
	}
	vars := map[string]any{}
	switch res.Type {
	case "AWS::Serverless::Function":
		maps.Copy(vars, doc.Globals.Function.Environment.Variables)
		maps.Copy(vars, res.Properties.Environment.Variables)
	case "AWS::ECS::TaskDefinition":
		if len(res.Properties.ContainerDefinitions) == 0 {
			return nil, fmt.Errorf("%s has no container", logicalID)
		}
		for _, e := range res.Properties.ContainerDefinitions[0].Environment {
			vars[e.Name] = e.Value
		}
	default:
		return nil, fmt.Errorf("%s is a %s, which has no environment", logicalID, res.Type)
	}
	out := make(map[string]string, len(vars))
	for k, v := range vars {
		switch v := v.(type) {
		case string:
			out[k] = v
		case float64, bool:
			out[k] = fmt.Sprint(v)
		default:
			return nil, fmt.Errorf("%s's environment variable %s: %v is not a string", logicalID, k, v)
		}
	}
	return out, nil
}

// FunctionIDs returns the logical ids of the template's functions, sorted.
func (t *Template) FunctionIDs() []string {
	var ids []string
	for id := range t.cfn.GetAllServerlessFunctionResources() {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
