package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/automation/gallery"
)

// The gallery's templates across connectors (internal/automation/gallery):
// a form to choose the saved connections and map the few values, then
// the bundle is installed switched off.

type galleryConn struct {
	Role, Type, Label string
	Options           []galleryOption
	Chosen            int64
}

type galleryOption struct {
	Value, Label string
}

type galleryParam struct {
	gallery.Param
	LabelText string
	Value     string
	Checked   bool
	// Options are the entries of the dictionary in the connection chosen
	// for its role (the value kept when the dictionary lacks it); ByConn
	// every connection's, as JSON for static/app.js, which offers the
	// entries of the connection chosen when the choice changes.
	Options []galleryOption
	ByConn  string
}

type galleryData struct {
	T        gallery.Template
	Conns    []galleryConn
	Params   []galleryParam
	Problems []string
}

// connectorTemplates are the gallery's templates installed with a form
// (connections, values) for the list page.
func connectorTemplates() []gallery.Template {
	ts, _ := gallery.Templates() // a broken embedded file fails the gallery's own tests
	return slices.DeleteFunc(ts, gallery.Template.Plain)
}

// copyableTemplates are the gallery's templates copied into the editor.
func copyableTemplates() []automation.Template {
	ts, _ := gallery.Copyable() // as above
	return ts
}

func (u *UI) galleryForm(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.autoAdmin(w, r, rq) || !u.connReady(w, r, rq) {
		return
	}
	t, err := gallery.Find(r.PathValue("name"))
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	u.showGallery(w, r, rq, http.StatusOK, t, nil, nil)
}

func (u *UI) showGallery(w http.ResponseWriter, r *http.Request, rq *request, status int, t gallery.Template, in *gallery.Install, problems []string) {
	ctx := r.Context()
	data := galleryData{T: t, Problems: problems}
	byType := map[string][]galleryOption{}
	dicts := map[string]map[string][]galleryOption{} // "type/dictionary" → connection id → entries
	chosen := map[string]string{}                    // role → the connection chosen (or first offered)
	roles := make([]string, 0, len(t.Connections))
	for role := range t.Connections {
		roles = append(roles, role)
	}
	slices.Sort(roles)
	for _, role := range roles {
		need := t.Connections[role]
		if _, ok := byType[need.Type]; !ok {
			cs, err := u.conns.List(ctx, need.Type)
			if err != nil {
				u.failErr(w, r, rq, err)
				return
			}
			opts := []galleryOption{}
			for _, c := range cs {
				opts = append(opts, galleryOption{Value: strconv.FormatInt(c.ID, 10), Label: c.Name})
				for name, entries := range c.Dictionaries {
					k := need.Type + "/" + name
					if dicts[k] == nil {
						dicts[k] = map[string][]galleryOption{}
					}
					dicts[k][strconv.FormatInt(c.ID, 10)] = dedupOptions(dictOptions(entries))
				}
			}
			byType[need.Type] = opts
		}
		gc := galleryConn{Role: role, Type: need.Type, Label: need.Label.In(rq.Lang), Options: byType[need.Type]}
		if in != nil {
			gc.Chosen = in.Connections[role]
		}
		if gc.Chosen != 0 {
			chosen[role] = strconv.FormatInt(gc.Chosen, 10)
		} else if len(gc.Options) > 0 {
			chosen[role] = gc.Options[0].Value
		}
		data.Conns = append(data.Conns, gc)
	}
	for _, p := range t.Params {
		gp := galleryParam{Param: p, LabelText: p.Label.In(rq.Lang)}
		v := p.Default
		if in != nil {
			if x, ok := in.Params[p.Name]; ok {
				v = x
			}
		}
		if b, ok := v.(bool); ok {
			gp.Checked = b
		} else if v != nil {
			gp.Value = fmt.Sprint(v)
		}
		if p.From != nil {
			if by := dicts[t.Connections[p.From.Connection].Type+"/"+p.From.Dictionary]; len(by) > 0 {
				gp.Options = withValue(by[chosen[p.From.Connection]], gp.Value)
				b, err := json.Marshal(by)
				if err != nil {
					u.failErr(w, r, rq, err)
					return
				}
				gp.ByConn = string(b)
			}
		}
		data.Params = append(data.Params, gp)
	}
	u.render(w, r, rq, status, "automation_install", t.Title.In(rq.Lang), "automation", data)
}

// dictOptions reads a refreshed dictionary's entries: strings as they
// are, objects by their code (retailCRM) or name (МойСклад).
func dictOptions(entries any) []galleryOption {
	list, _ := entries.([]any)
	var out []galleryOption
	for _, e := range list {
		switch x := e.(type) {
		case string:
			out = append(out, galleryOption{Value: x, Label: x})
		case map[string]any:
			name, _ := x["name"].(string)
			code, _ := x["code"].(string)
			if code == "" {
				code = name
			}
			if code != "" {
				out = append(out, galleryOption{Value: code, Label: name})
			}
		}
	}
	return out
}

// withValue is the options with v first when they lack it: the
// default or the value given stays what the form sends.
func withValue(opts []galleryOption, v string) []galleryOption {
	if v == "" || slices.ContainsFunc(opts, func(o galleryOption) bool { return o.Value == v }) {
		return opts
	}
	return append([]galleryOption{{Value: v, Label: v}}, opts...)
}

func dedupOptions(in []galleryOption) []galleryOption {
	seen := map[string]bool{}
	var out []galleryOption
	for _, o := range in {
		if !seen[o.Value] {
			seen[o.Value] = true
			out = append(out, o)
		}
	}
	return out
}

// galleryInstall installs the template from the form.
func (u *UI) galleryInstall(w http.ResponseWriter, r *http.Request, rq *request) {
	if !u.autoAdmin(w, r, rq) || !u.connReady(w, r, rq) {
		return
	}
	t, err := gallery.Find(r.PathValue("name"))
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	in := gallery.Install{Connections: map[string]int64{}, Params: map[string]any{}, Name: r.PostForm.Get("name")}
	for role := range t.Connections {
		if id, err := strconv.ParseInt(r.PostForm.Get("conn_"+role), 10, 64); err == nil {
			in.Connections[role] = id
		}
	}
	for _, p := range t.Params {
		if p.Type == "boolean" {
			in.Params[p.Name] = r.PostForm.Get("param_"+p.Name) != ""
		} else {
			in.Params[p.Name] = r.PostForm.Get("param_" + p.Name)
		}
	}
	ctx := r.Context()
	d, err := t.Fill(ctx, u.conns, in)
	if err == nil {
		b, cerr := u.auto.Create(ctx, rq.Actor(), d)
		if cerr == nil {
			back(w, r, "/automation/"+strconv.FormatInt(b.ID, 10)+"?flash=auto.installed")
			return
		}
		err = cerr
	}
	if ps := problemLines(rq, err); ps != nil {
		u.showGallery(w, r, rq, http.StatusUnprocessableEntity, t, &in, ps)
		return
	}
	u.failErr(w, r, rq, err)
}
