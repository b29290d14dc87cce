package web

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dedup"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
)

// fieldView is a field of a card's form.
type fieldView struct {
	Name, Label, Kind, Value, Display, Error string
	// Links are the linked records (URL, title) of a kRef or kIDs field.
	Links []option
	// Ref is the entity a kRef or kIDs field's picker searches; RefFrom
	// the field that names it when it varies.
	Ref, RefFrom string
	// Chosen is the linked records as the picker's JSON; PickHint,
	// PickNone and PickRemove its texts.
	Chosen                         string
	PickHint, PickNone, PickRemove string
	RO                             bool
	Checked                        bool
	Options                        []option
	// Addr is the block of a kAddress field.
	Addr addrView
}

// Text is what the field shows (the "links" template's fallback).
func (f fieldView) Text() string { return f.Display }

// relatedView is a related list on a card.
type relatedView struct {
	Label  string
	AllURL string
	NewURL string
	Rows   []row
	Heads  []string
}

type change struct {
	Field, Old, New string
}

// timelineItem is a comment, an activity or a change on a card.
type timelineItem struct {
	At      string
	Kind    string // comment, activity, event
	Who     string
	Text    string
	Link    string
	Action  string
	Changes []change
}

type cardData struct {
	// Dups are the records a new one may duplicate (the entity's rule
	// warns or refuses: DupRefused).
	Dups       []dedup.Match
	DupRefused bool
	Entity     *entity
	Label      string
	ID         int64
	Title      string
	Fields     []fieldView
	Error      string
	Related    []relatedView
	Timeline   []timelineItem
	New        bool
	Action     string
	CanConvert bool
	Deleted    string // when the record is in the recycle bin: its restore URL
	// ViewOnly: the user may see the record but not change it (a grant
	// to view a colleague's records); the card shows no edit controls.
	ViewOnly bool
	// Inline: the fields for in-place editing (the card's usual view);
	// nil shows the form of every field (?edit=all, or a failed save).
	Inline  []inlineField
	Version string // the record's updated_at, sent back by the form
	Items   *itemsView
	// Auto is the Run menu of manual bundles and the record's runs.
	Auto *cardAuto
	// Offers: a product's variants, prices per type and stock per
	// warehouse (from the 1C exchange).
	Offers *offersView
	// Files: a lead's files (an e-mail's attachments), downloadable.
	Files []store.LeadFile
	// Images: a product's pictures (from 1C or uploaded), shown through
	// the REST API's download (the session cookie signs it in), each
	// with the variant it belongs to.
	Images []imageView
	// Links: the record in external systems (card_links.go).
	Links []linkView
	// Reply: the card offers a reply to the client in a messenger.
	Reply bool
	// Social: the card offers the VK history and profile imports.
	Social bool
	// MsgFiles: a message's attachments, downloadable.
	MsgFiles []msgFile
	// ReplyChannels are offered in the reply box when there are several.
	ReplyChannels []string
	// Photo: a lead's, contact's or account's photo (photoView), nil
	// for other records.
	Photo *photoView
}

type offersView struct {
	Variants []offerVariantRow
	Prices   []offerPriceRow
	Stocks   []offerStockRow
}

type offerVariantRow struct{ Name, Article, Chars, Price, Stock, ID1C string }

// imageView is a picture on the product card: a variant's pictures (1C
// writes a characteristic's in its offer) name the variant, the
// product's own name none.
type imageView struct {
	crm.ProductImage
	Variant string
}

// productImages names each picture's variant as the offers block does:
// its name, or its characteristics when it has no name of its own.
func productImages(imgs []crm.ProductImage, o crm.ProductOffers) []imageView {
	names := map[int64]string{}
	for _, x := range o.Variants {
		names[x.ID] = variantName(x)
	}
	v := make([]imageView, len(imgs))
	for i, img := range imgs {
		v[i] = imageView{ProductImage: img}
		if img.VariantID != 0 {
			v[i].Variant = names[img.VariantID]
			if v[i].Variant == "" {
				v[i].Variant = "#" + strconv.FormatInt(img.VariantID, 10)
			}
		}
	}
	return v
}

func variantName(x crm.ProductVariant) string {
	if x.Name != "" {
		return x.Name
	}
	cs := make([]string, len(x.Characteristics))
	for i, c := range x.Characteristics {
		cs[i] = c.Name + ": " + c.Value
	}
	return strings.Join(cs, ", ")
}

type offerPriceRow struct{ Owner, Type, Price string }
type offerStockRow struct{ Owner, Warehouse, Quantity string }

// productOffers is the view of a product's variants and prices; nil when
// it has none.
func productOffers(o crm.ProductOffers, itself string) *offersView {
	if len(o.Variants) == 0 && len(o.Prices) == 0 && len(o.Stocks) == 0 {
		return nil
	}
	v := &offersView{}
	names := map[int64]string{0: itself}
	for _, x := range o.Variants {
		var cs []string
		for _, c := range x.Characteristics {
			cs = append(cs, c.Name+": "+c.Value)
		}
		names[x.ID] = variantName(x)
		v.Variants = append(v.Variants, offerVariantRow{Name: x.Name, Article: x.Article, Chars: strings.Join(cs, ", "),
			Price: x.Price.String() + " " + x.Currency, Stock: x.Stock.String(), ID1C: x.ID1C})
	}
	for _, p := range o.Prices {
		v.Prices = append(v.Prices, offerPriceRow{Owner: names[p.VariantID], Type: p.PriceType, Price: p.Price.String() + " " + p.Currency})
	}
	for _, st := range o.Stocks {
		v.Stocks = append(v.Stocks, offerStockRow{Owner: names[st.VariantID], Warehouse: st.Warehouse, Quantity: st.Quantity.String()})
	}
	return v
}

func (u *UI) recordID(w http.ResponseWriter, r *http.Request, rq *request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return 0, false
	}
	return id, true
}

// fieldViews builds the form of a record; input, when set, holds what the
// user submitted (shown back with errors).
func fieldViews(e *entity, rec record, lk *lookups, rq *request, input url.Values, errs formErrs) []fieldView {
	var out []fieldView
	for _, f := range e.Fields {
		fv := fieldView{Name: f.Name, Label: rq.T("f." + f.Name), Kind: f.Kind, RO: f.RO,
			Value: inputValue(f, rec, lk.loc), Display: lk.show(f, rec)}
		if input != nil && !f.RO {
			if f.Kind == kBool {
				fv.Value = input.Get(f.Name)
			} else if input.Has(f.Name) {
				fv.Value = input.Get(f.Name)
			}
		}
		if f.Kind == kAddress {
			fv.Addr = addrOf(rec[f.Name])
			if input != nil && !f.RO && input.Has(f.Name+".shown") {
				fv.Addr = addrFromForm(f.Name, input.Get)
			}
			fv.Addr.L = addrLabels(rq.T)
			fv.Addr.Lineage = addrLineage(lk, fv.Addr.FIASID)
		}
		fv.Checked = fv.Value == "true" || fv.Value == "on"
		fv.Links = lk.refLinks(f, rec)
		if f.Kind == kRef || f.Kind == kIDs {
			fv.Ref, fv.RefFrom = f.Ref, f.RefFrom
			fv.Chosen = chosenJSON(fv.Links)
			fv.PickHint, fv.PickNone, fv.PickRemove = rq.T("pick.hint"), rq.T("pick.none"), rq.T("pick.remove")
		}
		switch f.Kind {
		case kStatus, kStage, kPipeline, kUser, kChoice:
			fv.Options = lk.options(f, rec, rq.T)
		}
		fv.Error = errs[f.Name]
		out = append(out, fv)
	}
	return out
}

func (u *UI) card(w http.ResponseWriter, r *http.Request, rq *request) {
	e, ok := u.entityOf(w, r, rq)
	if !ok {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	u.showCard(w, r, rq, e, id, http.StatusOK, nil, nil)
}

// showCard renders a card, with the submitted input and an error when a
// save failed.
func (u *UI) showCard(w http.ResponseWriter, r *http.Request, rq *request, e *entity, id int64, status int, input url.Values, errs formErrs) {
	u.showCardWith(w, r, rq, e, id, status, input, errs, nil)
}

// showCardWith is showCard with the line-items editor as submitted (iv),
// when a save of the items failed.
func (u *UI) showCardWith(w http.ResponseWriter, r *http.Request, rq *request, e *entity, id int64, status int, input url.Values, errs formErrs, iv *itemsView) {
	ctx := r.Context()
	rec, err := e.get(ctx, id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	lk := u.lookupsFor(ctx, rq)
	defs, err := u.store.CustomFields(ctx, e.Name)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d := cardData{Entity: e, Label: rq.T("e1." + e.Name), ID: id, Title: titleOf(e.Name, rec),
		Fields:     append(fieldViews(e, rec, lk, rq, input, errs), customViews(defs, rec, input, errs, lk, "/e/"+e.Name+"/"+strconv.FormatInt(id, 10))...),
		Action:     "/e/" + e.Name + "/" + strconv.FormatInt(id, 10),
		CanConvert: e.Name == store.EntityLead && intOf(rec["deal_id"]) == 0 && intOf(rec["contact_id"]) == 0 && intOf(rec["account_id"]) == 0}
	d.Error = errs.banner(rq)
	if field, ok := itemsField[e.Name]; ok {
		if iv == nil {
			iv = &itemsView{Field: field, Rows: itemRows(rec[field]), Lang: rq.Lang, Current: strOf(rec["opportunity"])}
			items, _, _ := parseItems(itemsForm(iv.Rows), field, rq.T)
			computeView(iv, items, nil)
			// A blank row to type a new item into.
			iv.Rows = append(iv.Rows, itemRow{Index: len(iv.Rows)})
		}
		iv.Action, iv.Lang, iv.CSRF = d.Action+"/items", rq.Lang, rq.Sess.CSRF
		if err := u.itemPickers(ctx, rq, iv); err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		d.Items = iv
	}
	if e.Name == store.EntityProduct {
		o, err := u.store.ProductOffers(ctx, id)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		d.Offers = productOffers(o, rq.T("card.product_itself"))
		imgs, err := u.store.ProductImages(ctx, id)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		d.Images = productImages(imgs, o)
	}
	if rec["deleted_at"] != nil {
		d.Deleted, d.CanConvert = "/recycle/"+e.Name+"/"+strconv.FormatInt(id, 10)+"/restore", false
	}
	if !store.CanChange(ctx, e.Name, intOf(rec["assigned_by_id"])) {
		d.ViewOnly, d.CanConvert = true, false
		if d.Items != nil {
			d.Items.ReadOnly = true
		}
	}
	d.Version = strOf(rec["updated_at"])
	d.Reply = u.messenger != nil && slices.Contains(crm.MessageOwnerTypes, e.Name) && d.Deleted == "" && !d.ViewOnly
	d.Social = u.social != nil && slices.Contains(crm.MessageOwnerTypes, e.Name) && d.Deleted == "" && !d.ViewOnly
	if d.Photo, err = u.cardPhoto(ctx, e.Name, id, d.Deleted == "" && !d.ViewOnly); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if e.Name == store.EntityMessage {
		m, err := u.store.GetMessage(ctx, id)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		d.MsgFiles = messageFilesOf(m)
	}
	if d.Reply && len(u.msgChannels) > 1 {
		d.ReplyChannels = u.msgChannels
	}
	if d.Links, err = u.cardLinks(r, rq, e.Name, id, rec, d.Deleted == "" && !d.ViewOnly); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	if input == nil && len(errs) == 0 && r.URL.Query().Get("edit") == "" {
		views := d.Fields
		if d.Deleted != "" || d.ViewOnly {
			// A record in the bin is restored before it is edited; a
			// colleague's record granted to view is only shown.
			views = make([]fieldView, len(d.Fields))
			for i, fv := range d.Fields {
				fv.RO = true
				views[i] = fv
			}
		}
		d.Inline = inlineFields(views, d.Action, d.Version, rq)
	}
	for _, rel := range e.Related {
		re, ok := u.byPath[rel.Entity]
		if !ok {
			continue
		}
		filters := []store.Filter{{Field: rel.Field, Op: "eq", Value: strconv.FormatInt(id, 10)}}
		q := url.Values{"f." + rel.Field: {strconv.FormatInt(id, 10)}}
		if rel.Field == "owner_id" {
			filters = append(filters, store.Filter{Field: "owner_type", Op: "eq", Value: e.Name})
			q.Set("f.owner_type", e.Name)
		}
		recs, _, err := re.list(ctx, store.ListParams{Filters: filters, Limit: 10, Sort: "-created_at"})
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		rv := relatedView{Label: rq.T("e." + re.Name), AllURL: "/e/" + re.Name + "?" + q.Encode()}
		// "New" prefilled with the link to this record.
		nq := url.Values{}
		if _, ok := re.Field(rel.Field); ok {
			nq.Set(rel.Field, strconv.FormatInt(id, 10))
		} else if _, ok := re.Field(rel.Field + "s"); ok {
			nq.Set(rel.Field+"s", strconv.FormatInt(id, 10))
		}
		if rel.Field == "owner_id" {
			nq.Set("owner_type", e.Name)
		}
		rv.NewURL = "/e/" + re.Name + "/new?" + nq.Encode()
		var cols []field
		for _, f := range re.Fields {
			if f.List && len(cols) < 4 {
				cols = append(cols, f)
				rv.Heads = append(rv.Heads, rq.T("f."+f.Name))
			}
		}
		for _, rr := range recs {
			rw := row{ID: rr.ID(), Link: "/e/" + re.Name + "/" + strconv.FormatInt(rr.ID(), 10)}
			for _, f := range cols {
				c := cell{Text: lk.show(f, rr), Links: lk.refLinks(f, rr)}
				if re.Name == store.EntityMessage && f.Name == "text" {
					c.Text = withFiles(c.Text, rr)
				}
				rw.Cells = append(rw.Cells, c)
			}
			rv.Rows = append(rv.Rows, rw)
		}
		d.Related = append(d.Related, rv)
	}
	if e.Name == store.EntityLead {
		if d.Files, err = u.store.LeadFiles(ctx, id); err != nil {
			u.failErr(w, r, rq, err)
			return
		}
	}
	if d.Auto, err = u.cardAutomation(r, rq, e.Name, id, d.Deleted != ""); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	items, err := u.store.Timeline(ctx, e.Name, id, 100)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	for _, it := range items {
		ti := timelineItem{At: it.At.In(rq.Loc).Format("02.01.2006 15:04"), Kind: it.Kind}
		switch {
		case it.Comment != nil:
			ti.Who, ti.Text = lk.userName(it.Comment.AuthorID), it.Comment.Body
		case it.Activity != nil:
			ti.Who, ti.Text = lk.userName(it.Activity.AssignedByID), it.Activity.Subject
			ti.Link = "/e/activity/" + strconv.FormatInt(it.Activity.ID, 10)
		case it.Event != nil:
			ti.Who = lk.userName(it.Event.ActorUserID)
			if ti.Who == "" {
				ti.Who = it.Event.Integration
			}
			if ti.Who == "" {
				ti.Who = rq.T("tl.system")
			}
			ti.Action = rq.T("tl." + it.Event.Action)
			if it.Event.Action == events.Update {
				for name, c := range it.Event.Changes {
					if crm.ReadOnlyFields[name] {
						continue
					}
					ti.Changes = append(ti.Changes, change{Field: rq.T("f." + name), Old: lk.changeText(e, name, c.Old, rec), New: lk.changeText(e, name, c.New, rec)})
				}
				sort.Slice(ti.Changes, func(i, j int) bool { return ti.Changes[i].Field < ti.Changes[j].Field })
			}
		}
		d.Timeline = append(d.Timeline, ti)
	}
	if lk.err != nil {
		u.failErr(w, r, rq, lk.err)
		return
	}
	u.render(w, r, rq, status, "card", d.Label+": "+d.Title, e.Name, d)
}

func (u *UI) updateRecord(w http.ResponseWriter, r *http.Request, rq *request) {
	e, ok := u.entityOf(w, r, rq)
	if !ok {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	cur, err := e.get(r.Context(), id)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	patch, parsed := parseFormAll(e, r.PostForm.Get, r.PostForm.Has, cur, rq.T, rq.Loc)
	defs, err := u.store.CustomFields(r.Context(), e.Name)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	parseCustom(defs, r.PostForm, patch)
	if len(parsed) > 0 {
		// Check the rest too, so that every field at fault is marked at once.
		u.refuseForm(w, r, rq, e, parsed, e.check(cur, patch), func(errs formErrs) {
			u.showCard(w, r, rq, e, id, http.StatusUnprocessableEntity, r.PostForm, errs)
		})
		return
	}
	if err := e.update(r.Context(), rq.Actor(), id, patch, r.PostFormValue("version")); err != nil {
		if errors.Is(err, errStale) {
			// Someone saved the record since this form was opened:
			// show it as it is now, with what was typed, instead of
			// overwriting their change unseen.
			u.showCard(w, r, rq, e, id, http.StatusConflict, r.PostForm, formErrs{"": rq.T("inline.stale_form")})
			return
		}
		u.refuseForm(w, r, rq, e, nil, err, func(errs formErrs) {
			u.showCard(w, r, rq, e, id, http.StatusUnprocessableEntity, r.PostForm, errs)
		})
		return
	}
	back(w, r, "/e/"+e.Name+"/"+strconv.FormatInt(id, 10)+"?flash=card.saved")
}

func (u *UI) newRecord(w http.ResponseWriter, r *http.Request, rq *request) {
	e, ok := u.entityOf(w, r, rq)
	if !ok {
		return
	}
	rec := record{"assigned_by_id": rq.User.ID}
	// Prefill from the query: a related list's "new" link passes the link.
	for k, vs := range r.URL.Query() {
		if _, ok := e.Field(k); ok && len(vs) > 0 {
			rec[k] = vs[0]
		}
	}
	u.showNew(w, r, rq, e, http.StatusOK, rec, nil, nil)
}

func (u *UI) showNew(w http.ResponseWriter, r *http.Request, rq *request, e *entity, status int, rec record, input url.Values, errs formErrs) {
	u.showNewDups(w, r, rq, e, status, rec, input, errs, dedup.Decision{})
}

func (u *UI) showNewDups(w http.ResponseWriter, r *http.Request, rq *request, e *entity, status int, rec record, input url.Values, errs formErrs, dups dedup.Decision) {
	lk := u.lookupsFor(r.Context(), rq)
	var fs []field
	for _, f := range e.Fields {
		if !f.RO {
			fs = append(fs, f)
		}
	}
	ne := &entity{Name: e.Name, Fields: fs}
	defs, err := u.store.CustomFields(r.Context(), e.Name)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	d := cardData{Entity: e, Label: rq.T("e1." + e.Name), Title: rq.T("card.new"), New: true,
		Fields: append(fieldViews(ne, rec, lk, rq, input, errs), customViews(defs, rec, input, errs, lk, "")...),
		Action: "/e/" + e.Name + "/new", Dups: dups.Matches, DupRefused: dups.Rule.Action == dedup.Refuse}
	d.Error = errs.banner(rq)
	u.render(w, r, rq, status, "card", d.Label+": "+d.Title, e.Name, d)
}

func (u *UI) createRecord(w http.ResponseWriter, r *http.Request, rq *request) {
	e, ok := u.entityOf(w, r, rq)
	if !ok {
		return
	}
	patch, parsed := parseFormAll(e, r.PostForm.Get, r.PostForm.Has, record{}, rq.T, rq.Loc)
	defs, err := u.store.CustomFields(r.Context(), e.Name)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	parseCustom(defs, r.PostForm, patch)
	refuse := func(errs formErrs) {
		u.showNew(w, r, rq, e, http.StatusUnprocessableEntity, record{}, r.PostForm, errs)
	}
	if len(parsed) > 0 {
		// Check the rest too, so that every field at fault is marked at once.
		u.refuseForm(w, r, rq, e, parsed, e.check(nil, patch), refuse)
		return
	}
	// The duplicate rule: the user sees the records a new one is
	// like and creates it anyway, unless the rule refuses.
	if slices.Contains(dedup.Entities, e.Name) {
		probe, err := probeOf(e.Name, patch)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		d, err := dedup.Check(r.Context(), u.store, e.Name, probe)
		if err != nil {
			u.failErr(w, r, rq, err)
			return
		}
		if d.Duplicate() && (d.Rule.Action == dedup.Refuse || r.PostForm.Get("dup_confirm") != "1") {
			u.showNewDups(w, r, rq, e, http.StatusConflict, record{}, r.PostForm, nil, d)
			return
		}
	}
	id, err := e.create(r.Context(), rq.Actor(), patch)
	if err != nil {
		u.refuseForm(w, r, rq, e, nil, err, refuse)
		return
	}
	back(w, r, "/e/"+e.Name+"/"+strconv.FormatInt(id, 10)+"?flash=card.created")
}

// refuseForm shows a form again with every field at fault (parsed: those
// the form could not read; err: what the store or the check said), or
// fails the request when err is not about fields.
func (u *UI) refuseForm(w http.ResponseWriter, r *http.Request, rq *request, e *entity, parsed []*crm.FieldError, err error, show func(formErrs)) {
	errs, ok := collectFieldErrs(rq, e, parsed, err)
	if !ok {
		u.failErr(w, r, rq, err)
		return
	}
	show(errs)
}

func (u *UI) deleteRecord(w http.ResponseWriter, r *http.Request, rq *request) {
	e, ok := u.entityOf(w, r, rq)
	if !ok {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	if err := u.store.Delete(r.Context(), rq.Actor(), e.Name, id); err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	back(w, r, "/e/"+e.Name+"?flash=card.deleted")
}

func (u *UI) addComment(w http.ResponseWriter, r *http.Request, rq *request) {
	e, ok := u.entityOf(w, r, rq)
	if !ok {
		return
	}
	id, ok := u.recordID(w, r, rq)
	if !ok {
		return
	}
	body := strings.TrimSpace(r.PostFormValue("body"))
	if _, err := u.store.AddComment(r.Context(), rq.Actor(), e.Name, id, body); err != nil {
		u.cardRefused(w, r, rq, e, id, err)
		return
	}
	back(w, r, "/e/"+e.Name+"/"+strconv.FormatInt(id, 10)+"#timeline")
}

// cardRefused answers a card action whose write failed: a field's
// refusal is shown on the card, above its forms (422); anything else
// fails the request.
func (u *UI) cardRefused(w http.ResponseWriter, r *http.Request, rq *request, e *entity, id int64, err error) {
	if fe, ok := crm.AsFieldError(err); ok {
		u.showCard(w, r, rq, e, id, http.StatusUnprocessableEntity, nil, formErrs{"": rq.T("f."+fe.Field) + ": " + fieldMessage(rq, fe)})
		return
	}
	u.failErr(w, r, rq, err)
}

// leadFile sends a lead's file as a download (never shown inline: the
// file came from outside), to a user who may see the lead.
func (u *UI) leadFile(w http.ResponseWriter, r *http.Request, rq *request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	fid, ferr := strconv.ParseInt(r.PathValue("file"), 10, 64)
	if err != nil || ferr != nil {
		u.fail(w, r, rq, http.StatusNotFound, rq.T("err.not_found"))
		return
	}
	f, err := u.store.GetLeadFile(r.Context(), id, fid)
	if err != nil {
		u.failErr(w, r, rq, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.FormatInt(int64(len(f.Data)), 10))
	_, _ = w.Write(f.Data)
}

func fileSize(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " МБ"
	case n >= 1<<10:
		return strconv.FormatInt((n+512)>>10, 10) + " КБ"
	}
	return strconv.FormatInt(n, 10) + " Б"
}

// withFiles adds a message's files to its text in a card's list: a
// reply that is a file has its name there ("📎 счёт.pdf +1").
func withFiles(text string, rec record) string {
	as, _ := rec["attachments"].([]any)
	if len(as) == 0 {
		return text
	}
	a, _ := as[0].(map[string]any)
	name := strOf(a["name"])
	if name == "" {
		name = "file-1"
	}
	f := "📎 " + name
	if len(as) > 1 {
		f += " +" + strconv.Itoa(len(as)-1)
	}
	if text == "" || text == "—" {
		return f
	}
	return text + " " + f
}
