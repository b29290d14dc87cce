package moysklad

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// Outcomes of a create with duplicate handling.
const (
	OutcomeCreated = "created"
	OutcomeFound   = "found"
	OutcomeUpdated = "updated"
)

// CounterpartyInput describes moysklad.counterparty.create's input for
// the editor: a МойСклад counterparty as its API writes it
// (md/dictionaries/_counterparty.md); any other field of the entity is
// passed on as given.
type CounterpartyInput struct {
	Name         string   `json:"name" auto:"required"`
	Phone        string   `json:"phone"`
	Email        string   `json:"email"`
	CompanyType  string   `json:"companyType" auto:"enum=legal|entrepreneur|individual"`
	Description  string   `json:"description"`
	ExternalCode string   `json:"externalCode"`
	Tags         []string `json:"tags"`
	Connection   int64    `json:"connection"`
}

// OrderInput describes the customer order actions' input: a МойСклад
// customerorder (md/documents/_customerOrder.md). References (agent,
// organization, state) take the API's {"meta":{…}} or, for convenience,
// an href, an id, or for state its name; attributes take the API's list
// or an object of values by the attribute's name.
type OrderInput struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Agent        any    `json:"agent"`
	Organization any    `json:"organization"`
	State        any    `json:"state"`
	Description  string `json:"description"`
	Positions    []any  `json:"positions"`
	Attributes   any    `json:"attributes"`
	Connection   int64  `json:"connection"`
}

// Output is the entity МойСклад answered, with what the step did.
type Output struct {
	ID      string         `json:"id"`
	Href    string         `json:"href"`
	Name    string         `json:"name"`
	Outcome string         `json:"outcome"`
	Entity  map[string]any `json:"entity"`
}

type action struct {
	desc automation.Description
	run  func(ctx context.Context, c *automation.Call, in map[string]any) (any, error)
}

func (a *action) Describe() automation.Description { return a.desc }

func (a *action) Run(ctx context.Context, c *automation.Call, input any) (any, error) {
	in, ok := input.(map[string]any)
	if input == nil {
		in, ok = map[string]any{}, true
	}
	if !ok {
		return nil, automation.InputErrorf("", "the input must be an object")
	}
	for _, f := range a.desc.Input {
		if v, set := in[f.Name]; f.Required && (!set || v == nil || v == "") {
			return nil, automation.InputErrorf(f.Name, "required")
		}
	}
	out, err := a.run(ctx, c, cloneMap(in))
	if err != nil {
		return nil, err
	}
	return automation.ToValue(out)
}

func describe[In any](name string, dups []string) automation.Description {
	d := automation.Define(automation.Spec{Name: name, Group: Group, Writes: true, FreeInput: true, Duplicates: dups, Connection: Type},
		func(context.Context, *automation.Call, In) (Output, error) { return Output{}, nil }).Describe()
	return d
}

// CounterpartyAction is moysklad.counterparty.create.
func CounterpartyAction(d Deps) automation.Action {
	return &action{desc: describe[CounterpartyInput](ActionCounterparty, []string{"phone", "email"}), run: d.createCounterparty}
}

// OrderCreateAction is moysklad.customerorder.create.
func OrderCreateAction(d Deps) automation.Action {
	return &action{desc: describe[OrderInput](ActionOrderCreate, nil), run: d.createOrder}
}

// OrderUpdateAction is moysklad.customerorder.update.
func OrderUpdateAction(d Deps) automation.Action {
	desc := describe[OrderInput](ActionOrderUpdate, nil)
	for i := range desc.Input {
		if desc.Input[i].Name == "id" {
			desc.Input[i].Required = true
		}
	}
	return &action{desc: desc, run: d.updateOrder}
}

// open is the step's connection: the step's own, else the input's.
func (d Deps) open(ctx context.Context, c *automation.Call, in map[string]any) (connection.Connection, *Client, error) {
	var id int64
	switch v := in["connection"].(type) {
	case int64:
		id = v
	case float64:
		id = int64(v)
	case nil:
	default:
		return connection.Connection{}, nil, automation.InputErrorf("connection", "must be a connection's id")
	}
	delete(in, "connection")
	if c != nil && c.Connection != 0 {
		if id != 0 && id != c.Connection {
			return connection.Connection{}, nil, automation.InputErrorf("connection", "the step names connection %d, the input %d", c.Connection, id)
		}
		id = c.Connection
	}
	if id == 0 {
		return connection.Connection{}, nil, automation.InputErrorf("connection", "required: a saved МойСклад connection")
	}
	conn, set, err := d.Conns.Open(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return conn, nil, automation.InputErrorf("connection", "no connection %d", id)
	}
	if err != nil {
		return conn, nil, automation.Transient(err, 0)
	}
	if conn.Type != Type {
		return conn, nil, automation.InputErrorf("connection", "connection %d is a %s connection, not moysklad", id, conn.Type)
	}
	return conn, d.client(AccountOf(set)), nil
}

// remoteErr turns a call's error into the engine's terms: worth a retry
// (the network, a 429 or 5xx after the client's own retries), or a
// refusal that fails the step with МойСклад's words.
func remoteErr(what string, err error) error {
	if err == nil {
		return nil
	}
	var rl *RateLimited
	if errors.As(err, &rl) {
		return automation.Transient(fmt.Errorf("%s: %w", what, err), rl.RetryAfter)
	}
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.Temporary() {
			return automation.Transient(fmt.Errorf("%s: %w", what, err), 0)
		}
		return automation.FailWith(fmt.Errorf("%s: %w", what, err), map[string]any{"status": int64(ae.Status), "errors": errorsValue(ae)})
	}
	var ie *automation.InputError
	if errors.As(err, &ie) {
		return err
	}
	return automation.Transient(fmt.Errorf("%s: %w", what, err), 0)
}

func errorsValue(ae *APIError) []any {
	out := make([]any, 0, len(ae.Errors))
	for _, e := range ae.Errors {
		out = append(out, map[string]any{"error": e.Error, "code": int64(e.Code), "moreInfo": e.MoreInfo})
	}
	return out
}

// SyncID is the syncId a step's write carries: a UUID made of the step's
// idempotency key, the same on every attempt, so that a retried create
// answers the entity the first attempt made (md/_general.md, "Назначение
// поля syncId").
func SyncID(key string) string {
	h := sha1.Sum([]byte("obmen:moysklad:" + key))
	h[6] = (h[6] & 0x0f) | 0x50 // version 5
	h[8] = (h[8] & 0x3f) | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func outputOf(e map[string]any, outcome string) Output {
	id, _ := e["id"].(string)
	name, _ := e["name"].(string)
	return Output{ID: id, Href: hrefOf(e), Name: name, Outcome: outcome, Entity: e}
}

func (d Deps) createCounterparty(ctx context.Context, c *automation.Call, in map[string]any) (any, error) {
	_, cl, err := d.open(ctx, c, in)
	if err != nil {
		return nil, err
	}
	if _, ok := in["name"].(string); !ok {
		return nil, automation.InputErrorf("name", "must be text")
	}
	if c != nil && c.Duplicates != nil && c.Duplicates.Then != automation.DupCreate {
		if d.DB != nil && !c.DryRun {
			release, err := d.DB.LockKeys(ctx, dupLockKeys(cl.Account, c.Duplicates.By, in)...)
			if err != nil {
				return nil, automation.Transient(err, 0)
			}
			defer release()
		}
		found, by, err := FindCounterparty(ctx, cl, c.Duplicates.By, in)
		if err != nil {
			return nil, remoteErr("moysklad: look for the counterparty", err)
		}
		if found != nil {
			id, _ := found["id"].(string)
			switch c.Duplicates.Then {
			case automation.DupSkip:
				return outputOf(found, OutcomeFound), nil
			case automation.DupUpdate:
				if c.DryRun {
					return automation.Preview{DryRun: true, Would: fmt.Sprintf("update counterparty %s (matches by %s)", id, by), Send: in}, nil
				}
				var out map[string]any
				if err := cl.Do(ctx, http.MethodPut, entityCounterparty+"/"+id, nil, in, &out); err != nil {
					return nil, remoteErr("moysklad: update counterparty "+id, err)
				}
				return outputOf(out, OutcomeUpdated), nil
			}
		}
	}
	if c != nil && c.DryRun {
		return automation.Preview{DryRun: true, Would: "POST " + cl.Account.base() + "/" + entityCounterparty, Send: in}, nil
	}
	if c != nil {
		in["syncId"] = SyncID(c.Key())
	}
	var out map[string]any
	if err := cl.Do(ctx, http.MethodPost, entityCounterparty, nil, in, &out); err != nil {
		return nil, remoteErr("moysklad: create counterparty", err)
	}
	return outputOf(out, OutcomeCreated), nil
}

// FindCounterparty looks for a counterparty with the input's phone or
// e-mail, by the keys in order; the first found, and the key it matched.
//
// Phones: МойСклад keeps a phone as typed and its filter compares text
// (md/_general.md, "Фильтрация выборки"), so the candidates are asked for
// with the usual spellings of the number ("=" repeated is an OR), then,
// if none is the number, those ending with its last two digits ("=~"),
// and compared normalized here. E-mails: "~" is case-insensitive, the match
// is then an exact one of the normalized addresses.
func FindCounterparty(ctx context.Context, cl *Client, by []string, in map[string]any) (map[string]any, string, error) {
	for _, key := range by {
		raw, _ := in[key].(string)
		if strings.TrimSpace(raw) == "" {
			continue
		}
		var filter string
		var match func(string) bool
		switch key {
		case "phone":
			want, ok := crm.NormalizePhone(raw)
			if !ok {
				continue
			}
			var conds []string
			for _, s := range phoneSpellings(raw, want) {
				conds = append(conds, "phone="+escapeFilter(s))
			}
			filter = strings.Join(conds, ";")
			match = func(s string) bool { n, ok := crm.NormalizePhone(s); return ok && n == want }
		case "email":
			want, ok := crm.NormalizeEmail(raw)
			if !ok {
				continue
			}
			filter = "email~" + escapeFilter(want)
			match = func(s string) bool { n, ok := crm.NormalizeEmail(s); return ok && n == want }
		default:
			return nil, "", automation.InputErrorf("duplicates.by", "%q is not phone or email", key)
		}
		rows, err := cl.ListAll(ctx, entityCounterparty, url.Values{"filter": {filter}}, 100, 500)
		if err != nil {
			return nil, "", err
		}
		for _, r := range rows {
			if s, _ := r[key].(string); match(s) {
				return r, key, nil
			}
		}
		if key == "phone" {
			// Typed some other way ("8 903 5556677"): the numbers that
			// end as this one does, compared normalized. A typed number
			// ends with its last two digits whatever the grouping.
			n, _ := crm.NormalizePhone(raw)
			rows, err := cl.ListAll(ctx, entityCounterparty, url.Values{"filter": {"phone=~" + n[len(n)-2:]}}, 1000, 5000)
			if err != nil {
				return nil, "", err
			}
			for _, r := range rows {
				if s, _ := r[key].(string); match(s) {
					return r, key, nil
				}
			}
		}
	}
	return nil, "", nil
}

// dupLockKeys are the keys a counterparty's lookup and creation hold:
// the account and each normalized phone or e-mail looked for.
func dupLockKeys(a Account, by []string, in map[string]any) []string {
	var keys []string
	for _, k := range by {
		raw, _ := in[k].(string)
		var n string
		var ok bool
		switch k {
		case "phone":
			n, ok = crm.NormalizePhone(raw)
		case "email":
			n, ok = crm.NormalizeEmail(raw)
		}
		if ok {
			keys = append(keys, "moysklad:counterparty:"+a.base()+":"+k+":"+n)
		}
	}
	return keys
}

// phoneSpellings are the ways a number is usually typed: as given, E.164,
// and for a Russian number 8…, 7…, the ten digits, and the grouped forms.
func phoneSpellings(raw, e164 string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	add(strings.TrimSpace(raw))
	add(e164)
	d := strings.TrimPrefix(e164, "+")
	add(d)
	if len(d) == 11 && d[0] == '7' {
		n := d[1:]
		a, b, c1, c2 := n[0:3], n[3:6], n[6:8], n[8:10]
		add("8" + n)
		add(n)
		add(fmt.Sprintf("+7 %s %s-%s-%s", a, b, c1, c2))
		add(fmt.Sprintf("+7 %s %s %s %s", a, b, c1, c2))
		add(fmt.Sprintf("+7 (%s) %s-%s-%s", a, b, c1, c2))
		add(fmt.Sprintf("8 (%s) %s-%s-%s", a, b, c1, c2))
		add(fmt.Sprintf("8 %s %s-%s-%s", a, b, c1, c2))
		add(fmt.Sprintf("8%s%s%s%s", a, b, c1, c2))
	}
	return out
}

// escapeFilter writes ";" as "\;" inside a filter's value (md/_general.md).
func escapeFilter(s string) string { return strings.ReplaceAll(s, ";", `\;`) }

// orderMeta is the customer orders' metadata: the states and attributes
// by name, read once per step.
type orderMeta struct {
	states map[string]string // name → href
	attrs  map[string]attr   // name → href and type
}

type attr struct{ href, typ string }

func (cl *Client) orderMetadata(ctx context.Context) (orderMeta, error) {
	var m struct {
		Attributes []struct {
			Meta Meta   `json:"meta"`
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"attributes"`
		States []struct {
			Meta Meta   `json:"meta"`
			Name string `json:"name"`
		} `json:"states"`
	}
	if err := cl.Do(ctx, http.MethodGet, customerOrderMetaURL, nil, nil, &m); err != nil {
		return orderMeta{}, err
	}
	om := orderMeta{states: map[string]string{}, attrs: map[string]attr{}}
	for _, s := range m.States {
		om.states[strings.ToLower(s.Name)] = s.Meta.Href
	}
	for _, a := range m.Attributes {
		om.attrs[strings.ToLower(a.Name)] = attr{href: a.Meta.Href, typ: a.Type}
	}
	return om, nil
}

// prepareOrder turns the conveniences of an order's input into the API's
// own form: references written as an href or id become {"meta":…}, a
// state by name its href, attributes by name their metadata hrefs.
func (d Deps) prepareOrder(ctx context.Context, cl *Client, conn connection.Connection, in map[string]any, creating bool) error {
	base := cl.Account.base()
	var meta *orderMeta
	loadMeta := func() (*orderMeta, error) {
		if meta == nil {
			m, err := cl.orderMetadata(ctx)
			if err != nil {
				return nil, err
			}
			meta = &m
		}
		return meta, nil
	}
	for _, f := range []struct{ name, path, typ string }{
		{"agent", entityCounterparty, "counterparty"},
		{"organization", entityOrganization, "organization"},
	} {
		if s, ok := in[f.name].(string); ok {
			ref, err := refOf(base, f.path, f.typ, s)
			if err != nil {
				return automation.InputErrorf(f.name, "%v", err)
			}
			in[f.name] = ref
		}
	}
	if creating {
		if isEmpty(in["agent"]) {
			return automation.InputErrorf("agent", "required: the counterparty (its meta, href or id)")
		}
		if isEmpty(in["organization"]) {
			href, err := d.defaultOrganization(ctx, cl, conn)
			if err != nil {
				return err
			}
			in["organization"] = Ref(href, "organization")
		}
	}
	if s, ok := in["state"].(string); ok {
		switch {
		case strings.TrimSpace(s) == "":
			delete(in, "state")
		case strings.HasPrefix(s, "http"):
			in["state"] = Ref(s, "state")
		case isUUID(s):
			in["state"] = Ref(base+"/"+customerOrderMetaURL+"/states/"+s, "state")
		default:
			m, err := loadMeta()
			if err != nil {
				return err
			}
			href, ok := m.states[strings.ToLower(strings.TrimSpace(s))]
			if !ok {
				return automation.InputErrorf("state", "no customer order state named %q", s)
			}
			in["state"] = Ref(href, "state")
		}
	}
	if byName, ok := in["attributes"].(map[string]any); ok {
		list := []any{}
		for name, v := range byName {
			if isEmpty(v) {
				continue // an empty UTM tag is left unset, not sent as ""
			}
			m, err := loadMeta()
			if err != nil {
				return err
			}
			a, ok := m.attrs[strings.ToLower(name)]
			if !ok {
				return automation.InputErrorf("attributes."+name, "no customer order attribute named %q (refresh the connection's fields)", name)
			}
			list = append(list, map[string]any{"meta": map[string]any{"href": a.href, "type": "attributemetadata", "mediaType": "application/json"}, "value": v})
		}
		if len(list) == 0 {
			delete(in, "attributes")
		} else {
			in["attributes"] = list
		}
	}
	return nil
}

// defaultOrganization is the connection's organization: the first of
// its refreshed dictionaries, else the account's first.
func (d Deps) defaultOrganization(ctx context.Context, cl *Client, conn connection.Connection) (string, error) {
	if orgs, ok := conn.Dictionaries["organizations"].([]any); ok && len(orgs) > 0 {
		if o, ok := orgs[0].(map[string]any); ok {
			if h, _ := o["href"].(string); h != "" {
				return h, nil
			}
		}
	}
	rows, _, err := cl.ListPage(ctx, entityOrganization, nil, 0, 1)
	if err != nil {
		return "", err
	}
	if len(rows) == 0 {
		return "", automation.InputErrorf("organization", "the account has no organization (юрлицо)")
	}
	return hrefOf(rows[0]), nil
}

// refOf is the reference to an entity written as an href or an id.
func refOf(base, path, typ, s string) (map[string]any, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, base+"/"+path+"/"):
		return Ref(s, typ), nil
	case isUUID(s):
		return Ref(base+"/"+path+"/"+s, typ), nil
	}
	return nil, fmt.Errorf("%q is neither a %s's href nor its id", s, typ)
}

func (d Deps) createOrder(ctx context.Context, c *automation.Call, in map[string]any) (any, error) {
	conn, cl, err := d.open(ctx, c, in)
	if err != nil {
		return nil, err
	}
	if err := d.prepareOrder(ctx, cl, conn, in, true); err != nil {
		return nil, remoteErr("moysklad: customer order", err)
	}
	if c != nil && c.DryRun {
		return automation.Preview{DryRun: true, Would: "POST " + cl.Account.base() + "/" + entityCustomerOrder, Send: in}, nil
	}
	if c != nil {
		in["syncId"] = SyncID(c.Key())
	}
	var out map[string]any
	if err := cl.Do(ctx, http.MethodPost, entityCustomerOrder, nil, in, &out); err != nil {
		return nil, remoteErr("moysklad: create customer order", err)
	}
	return outputOf(out, OutcomeCreated), nil
}

func (d Deps) updateOrder(ctx context.Context, c *automation.Call, in map[string]any) (any, error) {
	conn, cl, err := d.open(ctx, c, in)
	if err != nil {
		return nil, err
	}
	id, _ := in["id"].(string)
	id = strings.TrimSpace(id)
	if i := strings.LastIndex(id, "/"); i >= 0 {
		id = id[i+1:] // an href
	}
	if !isUUID(id) {
		return nil, automation.InputErrorf("id", "%q is not a customer order's id", in["id"])
	}
	delete(in, "id")
	delete(in, "meta")
	if err := d.prepareOrder(ctx, cl, conn, in, false); err != nil {
		return nil, remoteErr("moysklad: customer order", err)
	}
	if c != nil && c.DryRun {
		return automation.Preview{DryRun: true, Would: "PUT " + cl.Account.base() + "/" + entityCustomerOrder + "/" + id, Send: in}, nil
	}
	var out map[string]any
	if err := cl.Do(ctx, http.MethodPut, entityCustomerOrder+"/"+id, nil, in, &out); err != nil {
		return nil, remoteErr("moysklad: update customer order "+id, err)
	}
	return outputOf(out, OutcomeUpdated), nil
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
