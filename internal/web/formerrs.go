package web

import "github.com/obmen/obmen/internal/crm"

// formErrs are a form's errors by field name, in the user's language; the
// key "" holds an error about the form as a whole. A form shows every
// field at fault next to its input, not only the first.
type formErrs map[string]string

// add puts msg against field, after any message the field already has
// (two bad phones are two messages on one input).
func (fe formErrs) add(field, msg string) {
	if old, ok := fe[field]; ok && old != msg {
		msg = old + "; " + msg
	}
	fe[field] = msg
}

// banner is the line above the form: the form-wide error, else a pointer
// to the marked fields.
func (fe formErrs) banner(rq *request) string {
	if msg, ok := fe[""]; ok {
		return msg
	}
	if len(fe) > 0 {
		return rq.T("err.form")
	}
	return ""
}

// collectFieldErrs turns parse errors and a store (or check) error into
// formErrs; an error of a field the form does not show goes to the
// banner. ok is false when err is not about fields
// (the caller reports it as a failure).
func collectFieldErrs(rq *request, e *entity, parsed []*crm.FieldError, err error) (formErrs, bool) {
	out := formErrs{}
	all := append([]*crm.FieldError{}, parsed...)
	if err != nil {
		fes := crm.AllFieldErrors(err)
		if len(fes) == 0 {
			return nil, false
		}
		all = append(all, fes...)
	}
	seen := map[string]bool{}
	for _, fe := range parsed {
		seen[fe.Field] = true
	}
	for i, fe := range all {
		name := fieldOfError(e, fe)
		if i >= len(parsed) && seen[name] {
			// The form already said this field cannot be read; what the
			// check made of its absence adds nothing.
			continue
		}
		msg := fieldMessage(rq, fe)
		out.add(name, msg)
	}
	return out, true
}
