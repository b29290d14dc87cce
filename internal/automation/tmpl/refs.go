package tmpl

import (
	"slices"
	"strings"
)

// Ref is a variable an expression reads: a root of the environment and the
// constant member names after it. steps.client.id and steps["client"].id
// are both {Root: "steps", Path: ["client", "id"]}. The path stops at the
// first index that is a number or computed ({{trigger.record.phones[0].value}}
// is trigger.record.phones), because list positions and computed keys are
// data, not structure the engine can check.
type Ref struct {
	Root string   `json:"root"`
	Path []string `json:"path,omitempty"`
	// Field is the JSON path of the template inside a Value or a
	// condition ("input.phones[0].value"); empty for a lone Template.
	Field string `json:"field,omitempty"`
	// Offset is the byte offset of the expression's "{{" in its template.
	Offset int `json:"offset"`
}

// String writes the reference as it could appear in an expression.
func (r Ref) String() string {
	return strings.Join(append([]string{r.Root}, r.Path...), ".")
}

// appendRef adds ref unless an equal reference (same root, path, field
// and offset) is already there.
func appendRef(refs []Ref, ref Ref) []Ref {
	for _, have := range refs {
		if have.Root == ref.Root && have.Field == ref.Field && have.Offset == ref.Offset && slices.Equal(have.Path, ref.Path) {
			return refs
		}
	}
	return append(refs, ref)
}
