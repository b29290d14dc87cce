package automation

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/store"
)

// fakeConns knows connection 1 (smtp) and 2 (retailcrm).
type fakeConns struct{}

func (fakeConns) TypeOf(_ context.Context, id int64) (string, error) {
	switch id {
	case 1:
		return "smtp", nil
	case 2:
		return "retailcrm", nil
	}
	return "", store.NotFound("connection", id)
}

func TestCheckConnections(t *testing.T) {
	reg := NewRegistry(nil)
	type in struct {
		To string `json:"to"`
	}
	noop := func(context.Context, *Call, in) (struct{}, error) { return struct{}{}, nil }
	if err := reg.Add(Define(Spec{Name: "mail.send", Writes: true, Connection: "smtp"}, noop),
		Define(Spec{Name: "plain.thing"}, noop)); err != nil {
		t.Fatal(err)
	}
	step := func(action string, conn int64, input any) Definition {
		return Definition{Name: "b", Steps: []Step{{ID: "s", Action: action, Connection: conn, Input: input}}}
	}
	for _, tc := range []struct {
		name  string
		conns Connections
		d     Definition
		want  string
	}{
		{"right type", fakeConns{}, step("mail.send", 1, nil), ""},
		{"no connection named", fakeConns{}, step("mail.send", 0, nil), ""},
		{"in the input", fakeConns{}, step("mail.send", 0, map[string]any{"connection": int64(1)}), ""},
		{"missing", fakeConns{}, step("mail.send", 7, nil), "s connection: no connection 7"},
		{"missing in the input", fakeConns{}, step("mail.send", 0, map[string]any{"connection": int64(7)}), "s input.connection: no connection 7"},
		{"wrong type", fakeConns{}, step("mail.send", 2, nil), "s connection: connection 2 is a retailcrm connection; action mail.send needs smtp"},
		{"action without connections", fakeConns{}, step("plain.thing", 1, nil), "s connection: action plain.thing works without a saved connection"},
		{"negative", fakeConns{}, step("mail.send", -1, nil), "s connection: must be a connection's id"},
		{"no store", nil, step("mail.send", 1, nil), "s connection: saved connections are not available"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg.SetConnections(tc.conns)
			ps, err := reg.checkConnections(context.Background(), tc.d)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, fmt.Sprintf("%s %s: %s", p.Step, p.Field, p.Message))
			}
			if g := strings.Join(got, "; "); g != tc.want {
				t.Fatalf("got %q, want %q", g, tc.want)
			}
		})
	}
	desc, _ := reg.Action("mail.send")
	if desc.Describe().Connection != "smtp" {
		t.Fatalf("description: %+v", desc.Describe())
	}
}
