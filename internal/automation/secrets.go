package automation

import (
	"fmt"
	"strings"
)

// Secrets in a definition (the fields an action marks Secret: a password,
// a token) are stored sealed by the installation's key and are
// write-only: the API shows Mask in their place, and a definition saved
// back with Mask keeps the stored secret of the same step and field.
const (
	Mask         = "••••••••"
	sealedPrefix = "sealed:"
)

// secretWalk calls fn on each secret string of each step's input, with a
// key naming the step and the field, and replaces the string by fn's
// result.
func (s *Service) secretWalk(d Definition, fn func(key, v string) (string, error)) (Definition, error) {
	out := d
	out.Steps = make([]Step, len(d.Steps))
	for i, st := range d.Steps {
		out.Steps[i] = st
		a, ok := s.reg.Action(st.Action)
		if !ok || st.Input == nil {
			continue
		}
		v, err := walkSecrets(a.Describe().Input, st.Input, st.ID+"/input", fn)
		if err != nil {
			return d, err
		}
		out.Steps[i].Input = v
	}
	return out, nil
}

// walkSecrets copies v, passing the secret strings the fields describe
// through fn.
func walkSecrets(fields []Field, v any, path string, fn func(key, v string) (string, error)) (any, error) {
	m, ok := v.(map[string]any)
	if !ok || len(fields) == 0 {
		return v, nil
	}
	out := make(map[string]any, len(m))
	for k, x := range m {
		out[k] = x
	}
	for _, f := range fields {
		x, ok := m[f.Name]
		if !ok {
			continue
		}
		p := path + "." + f.Name
		switch {
		case f.Secret:
			if str, ok := x.(string); ok && str != "" {
				nv, err := fn(p, str)
				if err != nil {
					return nil, err
				}
				out[f.Name] = nv
			}
		case len(f.Fields) > 0:
			nv, err := walkSecrets(f.Fields, x, p, fn)
			if err != nil {
				return nil, err
			}
			out[f.Name] = nv
		case f.Item != nil && len(f.Item.Fields) > 0:
			list, ok := x.([]any)
			if !ok {
				continue
			}
			nl := make([]any, len(list))
			for i, e := range list {
				ne, err := walkSecrets(f.Item.Fields, e, fmt.Sprintf("%s[%d]", p, i), fn)
				if err != nil {
					return nil, err
				}
				nl[i] = ne
			}
			out[f.Name] = nl
		}
	}
	return out, nil
}

// sealSecrets seals the plain secrets of d; Mask takes the sealed value
// of the same place in prev. A template is not a secret and stays.
func (s *Service) sealSecrets(d Definition, prev *Definition) (Definition, error) {
	old := map[string]string{}
	if prev != nil {
		_, _ = s.secretWalk(*prev, func(key, v string) (string, error) {
			old[key] = v
			return v, nil
		})
	}
	var problems []Problem
	out, err := s.secretWalk(d, func(key, v string) (string, error) {
		switch {
		case v == Mask:
			if o, ok := old[key]; ok {
				return o, nil
			}
			step, field, _ := strings.Cut(key, "/")
			problems = append(problems, Problem{Step: step, Field: field, Message: "the secret is not known: enter it again"})
			return "", nil
		case strings.HasPrefix(v, sealedPrefix):
			if _, err := s.box.Open(strings.TrimPrefix(v, sealedPrefix)); err != nil {
				step, field, _ := strings.Cut(key, "/")
				problems = append(problems, Problem{Step: step, Field: field, Message: "not a secret of this installation"})
			}
			return v, nil
		case strings.Contains(v, "{{"):
			return v, nil
		}
		sealed, err := s.box.Seal(v)
		if err != nil {
			return "", fmt.Errorf("automation: seal a secret: %w", err)
		}
		return sealedPrefix + sealed, nil
	})
	if err != nil {
		return d, err
	}
	if len(problems) > 0 {
		return d, &InvalidError{Problems: problems}
	}
	return out, nil
}

// maskSecrets shows Mask for every stored secret.
func (s *Service) maskSecrets(d Definition) Definition {
	out, _ := s.secretWalk(d, func(_, v string) (string, error) {
		if strings.HasPrefix(v, sealedPrefix) {
			return Mask, nil
		}
		return v, nil
	})
	return out
}

// openSecrets opens the sealed secrets for a run.
func (s *Service) openSecrets(d Definition) (Definition, error) {
	return s.secretWalk(d, func(key, v string) (string, error) {
		if !strings.HasPrefix(v, sealedPrefix) {
			return v, nil
		}
		plain, err := s.box.Open(strings.TrimPrefix(v, sealedPrefix))
		if err != nil {
			return "", fmt.Errorf("automation: open the secret %s: %w", key, err)
		}
		return plain, nil
	})
}

// exportable is d for export: secrets left out (Mask).
func (s *Service) exportable(d Definition) Definition { return s.maskSecrets(d) }

// clearMasked empties the masked secrets of an imported definition: they
// were not exported, and must be entered again.
func (s *Service) clearMasked(d Definition) Definition {
	out, _ := s.secretWalk(d, func(_, v string) (string, error) {
		if v == Mask {
			return "", nil
		}
		return v, nil
	})
	return out
}

// redactInput hides the secrets of a rendered input for the journal.
func redactInput(a Action, input any) any {
	v, _ := walkSecrets(a.Describe().Input, input, "", func(_, v string) (string, error) { return Mask, nil })
	if r, ok := a.(Redactor); ok {
		v = r.Redact(v)
	}
	return v
}
