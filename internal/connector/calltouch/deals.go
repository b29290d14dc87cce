package calltouch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/automation"
)

// The deals API v2 (lead-service): POST JSON with the headers
// Access-Token and SiteId. A deal is known by its orderNumber, the id the
// CRM gives it; create binds it to a call or a request by "matching".
const (
	pathCreate = "/lead-service/v1/api/client-order/create"
	pathUpdate = "/lead-service/v1/api/client-order/update"
)

// CreateInput is calltouch.deal.create's input: the deals API's fields.
type CreateInput struct {
	// CallID or RequestID (or RequestNumber, the site's own id of the
	// request) is the lead the deal is bound to.
	CallID        Number `json:"callId"`
	RequestID     Number `json:"requestId"`
	RequestNumber string `json:"requestNumber"`
	// OrderNumber is the deal's id in the CRM; empty: obmen-call-<id> or
	// obmen-request-<id>, the same on every attempt.
	OrderNumber string `json:"orderNumber"`
	Status      string `json:"status"`
	Revenue     Amount `json:"revenue"`
	// CreateDate and StatusDate: any date Calltouch or Obmen writes
	// (RFC 3339, dd/mm/yyyy hh:mm:ss…); empty: now.
	CreateDate string   `json:"createDate" auto:"type=datetime"`
	StatusDate string   `json:"statusDate" auto:"type=datetime"`
	Funnel     string   `json:"funnel"`
	OrderName  string   `json:"orderName"`
	Manager    string   `json:"manager"`
	Comment    string   `json:"comment"`
	Tags       []string `json:"tags"`
	CRM        string   `json:"crm"`
}

// UpdateInput is calltouch.deal.update's input.
type UpdateInput struct {
	OrderNumber string  `json:"orderNumber" auto:"required"`
	Status      string  `json:"status"`
	Revenue     *Amount `json:"revenue"`
	// StatusDate is when the deal came to its status: for a deal won,
	// its completion date.
	StatusDate string   `json:"statusDate" auto:"type=datetime"`
	Funnel     string   `json:"funnel"`
	Comment    string   `json:"comment"`
	Tags       []string `json:"tags"`
}

// DealOutput is what both actions answer.
type DealOutput struct {
	OrderNumber string  `json:"orderNumber"`
	OrderID     string  `json:"orderId,omitempty"`
	Status      string  `json:"status,omitempty"`
	Revenue     float64 `json:"revenue"`
	CallID      int64   `json:"callId,omitempty"`
	RequestID   int64   `json:"requestId,omitempty"`
	// Repeated: an earlier attempt had created the deal; this one
	// updated it.
	Repeated bool `json:"repeated,omitempty"`
}

type tagObj struct {
	Tag string `json:"tag"`
}

type order struct {
	Matching      []map[string]any `json:"matching,omitempty"`
	OrderNumber   string           `json:"orderNumber"`
	Funnel        string           `json:"funnel,omitempty"`
	Status        string           `json:"status,omitempty"`
	StatusDate    string           `json:"statusDate,omitempty"`
	CreateDate    string           `json:"createDate,omitempty"`
	UpdateDate    string           `json:"updateDate,omitempty"`
	Revenue       *string          `json:"revenue,omitempty"`
	Manager       string           `json:"manager,omitempty"`
	OrderName     string           `json:"orderName,omitempty"`
	AddNewComment *struct {
		Text string `json:"text"`
	} `json:"addNewComment,omitempty"`
	AddTags *struct {
		Overwrite bool     `json:"overwrite"`
		Tags      []tagObj `json:"tags"`
	} `json:"addTags,omitempty"`
}

// dealsAnswer is the deals API's answer, as far as Obmen reads it.
type dealsAnswer struct {
	Data struct {
		Orders []struct {
			OrderID     ID     `json:"orderId"`
			OrderNumber string `json:"orderNumber"`
		} `json:"orders"`
	} `json:"data"`
}

func money(v float64) *string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	return &s
}

func (o *order) comment(text string) {
	if t := strings.TrimSpace(text); t != "" {
		o.AddNewComment = &struct {
			Text string `json:"text"`
		}{t}
	}
}

func (o *order) tags(names []string) {
	var ts []tagObj
	for _, n := range names {
		if n = strings.TrimSpace(n); n != "" {
			ts = append(ts, tagObj{n})
		}
	}
	if len(ts) > 0 {
		o.AddTags = &struct {
			Overwrite bool     `json:"overwrite"`
			Tags      []tagObj `json:"tags"`
		}{false, ts}
	}
}

// dealDate writes a date for the deals API in the account's zone; empty
// is now.
func dealDate(field, s string, now time.Time, loc *time.Location) (string, error) {
	if strings.TrimSpace(s) == "" {
		return now.In(loc).Format(dealTime), nil
	}
	t, err := ParseTime(s, loc)
	if err != nil {
		return "", automation.InputErrorf(field, "%v", err)
	}
	return t.In(loc).Format(dealTime), nil
}

// CreateDeal sends one deal to create.
func (c *Client) CreateDeal(ctx context.Context, crm string, o order) (dealsAnswer, error) {
	var ans dealsAnswer
	err := c.do(ctx, http.MethodPost, "client-order/create", pathCreate, nil, map[string]any{"crm": crm, "orders": []order{o}}, &ans)
	return ans, err
}

// UpdateDeal sends one deal's changes.
func (c *Client) UpdateDeal(ctx context.Context, o order) (dealsAnswer, error) {
	var ans dealsAnswer
	err := c.do(ctx, http.MethodPost, "client-order/update", pathUpdate, nil, map[string]any{"orders": []order{o}}, &ans)
	return ans, err
}

// actionError is how an action reports the API's answer: a rate limit or
// a server's failure is worth another attempt, a refusal is final.
func actionError(err error) error {
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.Temporary() {
			return automation.Transient(err, ae.RetryAfter)
		}
		return err
	}
	return automation.Transient(err, 0)
}

func (d Deps) connectionOf(c *automation.Call) (int64, error) {
	if c == nil || c.Connection == 0 {
		return 0, automation.InputErrorf("connection", "choose the Calltouch connection of the step")
	}
	return c.Connection, nil
}

func (d Deps) create(ctx context.Context, c *automation.Call, in CreateInput) (any, error) {
	n := 0
	for _, set := range []bool{in.CallID != 0, in.RequestID != 0, strings.TrimSpace(in.RequestNumber) != ""} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return nil, automation.InputErrorf("callId", "give the call (callId) or the request (requestId or requestNumber) of the deal")
	case n > 1:
		return nil, automation.InputErrorf("callId", "give only one of callId, requestId and requestNumber")
	case in.CallID < 0:
		return nil, automation.InputErrorf("callId", "%d is not a call id", in.CallID)
	case in.RequestID < 0:
		return nil, automation.InputErrorf("requestId", "%d is not a request id", in.RequestID)
	case in.Revenue < 0:
		return nil, automation.InputErrorf("revenue", "must not be negative")
	}
	id, err := d.connectionOf(c)
	if err != nil {
		return nil, err
	}
	cl, err := d.open(ctx, id)
	if err != nil {
		return nil, automation.InputErrorf("connection", "%v", err)
	}
	loc := cl.Account.location()
	o := order{OrderNumber: strings.TrimSpace(in.OrderNumber), Status: strings.TrimSpace(in.Status), Funnel: in.Funnel,
		OrderName: in.OrderName, Manager: in.Manager, Revenue: money(float64(in.Revenue))}
	switch {
	case in.CallID != 0:
		o.Matching = []map[string]any{{"type": "call", "callParams": map[string]any{"callId": int64(in.CallID)}}}
		if o.OrderNumber == "" {
			o.OrderNumber = "obmen-call-" + strconv.FormatInt(int64(in.CallID), 10)
		}
	case in.RequestID != 0:
		o.Matching = []map[string]any{{"type": "request", "requestParams": map[string]any{"requestId": int64(in.RequestID)}}}
		if o.OrderNumber == "" {
			o.OrderNumber = "obmen-request-" + strconv.FormatInt(int64(in.RequestID), 10)
		}
	default:
		o.Matching = []map[string]any{{"type": "request", "requestParams": map[string]any{"requestNumber": strings.TrimSpace(in.RequestNumber)}}}
		if o.OrderNumber == "" {
			o.OrderNumber = "obmen-request-" + strings.TrimSpace(in.RequestNumber)
		}
	}
	if o.Status == "" {
		o.Status = StatusPending
	}
	now := d.Now()
	if o.CreateDate, err = dealDate("createDate", in.CreateDate, now, loc); err != nil {
		return nil, err
	}
	sd := in.StatusDate
	if sd == "" {
		sd = in.CreateDate
	}
	if o.StatusDate, err = dealDate("statusDate", sd, now, loc); err != nil {
		return nil, err
	}
	o.comment(in.Comment)
	o.tags(in.Tags)
	crm := strings.TrimSpace(in.CRM)
	if crm == "" {
		crm = DefaultCRM
	}
	if c.DryRun {
		return automation.Preview{DryRun: true, Would: "POST " + cl.Account.base() + pathCreate, Send: map[string]any{"crm": crm, "orders": []order{o}}}, nil
	}
	ans, err := cl.CreateDeal(ctx, crm, o)
	repeated := false
	if err != nil {
		var ae *APIError
		if c.Fresh || !errors.As(err, &ae) || ae.Temporary() || ae.Status < 400 || ae.Status > 499 {
			return nil, actionError(err)
		}
		// An earlier attempt of this step may have created the deal and
		// lost the answer: the deal under the same orderNumber takes the
		// step's values; if there is none, the refusal stands.
		upd := order{OrderNumber: o.OrderNumber, Status: o.Status, StatusDate: o.StatusDate, Revenue: o.Revenue, UpdateDate: now.In(loc).Format(dealTime)}
		var uerr error
		if ans, uerr = cl.UpdateDeal(ctx, upd); uerr != nil {
			return nil, actionError(err)
		}
		repeated = true
	}
	out := DealOutput{OrderNumber: o.OrderNumber, Status: o.Status, Revenue: float64(in.Revenue), CallID: int64(in.CallID), RequestID: int64(in.RequestID),
		Repeated: repeated}
	if len(ans.Data.Orders) > 0 {
		out.OrderID = string(ans.Data.Orders[0].OrderID)
	}
	return automation.ToValue(out)
}

func (d Deps) update(ctx context.Context, c *automation.Call, in UpdateInput) (any, error) {
	if in.Revenue != nil && *in.Revenue < 0 {
		return nil, automation.InputErrorf("revenue", "must not be negative")
	}
	id, err := d.connectionOf(c)
	if err != nil {
		return nil, err
	}
	cl, err := d.open(ctx, id)
	if err != nil {
		return nil, automation.InputErrorf("connection", "%v", err)
	}
	loc := cl.Account.location()
	o := order{OrderNumber: strings.TrimSpace(in.OrderNumber), Status: strings.TrimSpace(in.Status), Funnel: in.Funnel}
	if in.Revenue != nil {
		o.Revenue = money(float64(*in.Revenue))
	}
	now := d.Now()
	o.UpdateDate = now.In(loc).Format(dealTime)
	if o.Status != "" || in.StatusDate != "" {
		if o.StatusDate, err = dealDate("statusDate", in.StatusDate, now, loc); err != nil {
			return nil, err
		}
	}
	o.comment(in.Comment)
	o.tags(in.Tags)
	if c.DryRun {
		return automation.Preview{DryRun: true, Would: "POST " + cl.Account.base() + pathUpdate, Send: map[string]any{"orders": []order{o}}}, nil
	}
	ans, err := cl.UpdateDeal(ctx, o)
	if err != nil {
		return nil, actionError(err)
	}
	out := DealOutput{OrderNumber: o.OrderNumber, Status: o.Status}
	if in.Revenue != nil {
		out.Revenue = float64(*in.Revenue)
	}
	if len(ans.Data.Orders) > 0 {
		out.OrderID = string(ans.Data.Orders[0].OrderID)
	}
	return automation.ToValue(out)
}

type action[In any] struct {
	desc automation.Description
	run  func(ctx context.Context, c *automation.Call, in In) (any, error)
}

func (a *action[In]) Describe() automation.Description { return a.desc }

func (a *action[In]) Run(ctx context.Context, c *automation.Call, input any) (any, error) {
	in, err := automation.DecodeInput[In](input, a.desc)
	if err != nil {
		return nil, err
	}
	if c == nil {
		c = &automation.Call{}
	}
	out, err := a.run(ctx, c, in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.desc.Name, err)
	}
	return out, nil
}

// CreateAction is calltouch.deal.create.
func CreateAction(d Deps) automation.Action {
	d = d.withDefaults()
	desc := automation.Define(automation.Spec{Name: ActionCreate, Group: Group, Writes: true, Connection: Type},
		func(context.Context, *automation.Call, CreateInput) (DealOutput, error) { return DealOutput{}, nil }).Describe()
	return &action[CreateInput]{desc: desc, run: d.create}
}

// UpdateAction is calltouch.deal.update.
func UpdateAction(d Deps) automation.Action {
	d = d.withDefaults()
	desc := automation.Define(automation.Spec{Name: ActionUpdate, Group: Group, Writes: true, Connection: Type},
		func(context.Context, *automation.Call, UpdateInput) (DealOutput, error) { return DealOutput{}, nil }).Describe()
	return &action[UpdateInput]{desc: desc, run: d.update}
}
