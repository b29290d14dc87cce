package web

import (
	"regexp"
	"slices"
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

// TestEveryValidationCodeInRussian: every code a crm.FieldError can carry
// has a Russian message, with the same verbs in the same order as the
// English, so that the params fit.
func TestEveryValidationCodeInRussian(t *testing.T) {
	verbs := regexp.MustCompile(`%[a-z]`)
	english := map[string]string{}
	for _, c := range crm.Codes() {
		ru, ok := validationRU[c]
		if !ok {
			t.Errorf("code %q has no Russian message in validationRU", c)
			continue
		}
		english[c] = ru
	}
	for format, code := range crm.CodesByFormat() {
		if !slices.Equal(verbs.FindAllString(format, -1), verbs.FindAllString(validationRU[code], -1)) {
			t.Errorf("code %q: the Russian %q has other verbs than %q", code, validationRU[code], format)
		}
	}
	for c := range validationRU {
		if _, ok := english[c]; !ok {
			t.Errorf("validationRU has %q, which no message uses", c)
		}
	}
	fe, _ := crm.AsFieldError(crm.Invalid("birthdate", "%q is not a date in YYYY-MM-DD form", "31.02"))
	if got, want := fieldMessage(&request{Lang: "ru"}, fe), `"31.02" — не дата в виде ГГГГ-ММ-ДД`; got != want {
		t.Errorf("ru: %q, want %q", got, want)
	}
	if got := fieldMessage(&request{Lang: "en"}, fe); got != fe.Message {
		t.Errorf("en: %q", got)
	}
	if got := fieldMessage(&request{Lang: "ru"}, &crm.FieldError{Field: "x", Message: "уже по-русски"}); got != "уже по-русски" {
		t.Errorf("a message of the UI's own: %q", got)
	}
}
