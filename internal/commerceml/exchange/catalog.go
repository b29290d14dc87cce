package exchange

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/obmen/obmen/internal/commerceml"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// run is an import under way in this process.
type run struct {
	done  chan struct{}
	items atomic.Int64 // entities read so far
}

// importCatalog answers one mode=import call: it starts the import of the
// file (or resumes it after a restart), works on it for up to the step
// time and answers progress, success or failure.
//
// A file is staged first (stage.go): read and prepared in small
// transactions that users do not see, resumed where it stopped after a
// restart; then switched in (switch.go) in one short transaction.
// An import.xml whose offers.xml is uploaded in the same session and not
// yet imported waits, staged, for it: the two switch together, so that no
// product is ever visible without its price. Its mode=import answers
// success once staged, as staged data is durable and will be applied
// (by the offers' switch, mode=complete, mode=deactivate or, at the
// latest, the sweeper): answering progress would keep 1C asking for the
// import.xml forever, since it sends the offers only after.
func (s *Service) importCatalog(w http.ResponseWriter, r *http.Request, sess session, set Settings) {
	ctx := r.Context()
	name := r.URL.Query().Get("filename")
	e, ok, err := s.openEntry(ctx, sess.ID, "catalog", name)
	if err != nil {
		s.log.Error("exchange: import", "err", err)
		fail(w, "internal error")
		return
	}
	if !ok {
		p, err := s.prepare(sess, name, set)
		if err != nil {
			fail(w, s.failed(ctx, sess.ID, "catalog", name, err))
			return
		}
		st, _ := os.Stat(p)
		e, err = s.newEntry(ctx, Entry{sessionID: sess.ID, Type: "catalog", Direction: DirIn, Filename: name, Status: StatusRunning,
			filePath: p, FileSize: st.Size(), Stage: StageStaging})
		if err != nil {
			s.log.Error("exchange: import", "err", err)
			fail(w, "internal error")
			return
		}
	}
	if done, ok := s.answerEntry(ctx, w, e, sess); done || !ok {
		return
	}
	rn := s.start(ctx, e, sess, set)
	t := time.NewTimer(time.Duration(set.StepMillis) * time.Millisecond)
	defer t.Stop()
	if rn == nil {
		// Another instance on the database runs this file's import (1C's
		// calls reach any instance behind the balancer): this call waits
		// a step and answers what the journal says.
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		if e, err = s.GetEntry(ctx, e.ID); err != nil {
			s.log.Error("exchange: import", "err", err)
			fail(w, "internal error")
			return
		}
		if done, ok := s.answerEntry(ctx, w, e, sess); done || !ok {
			return
		}
		answer(w, "progress", name+": importing")
		return
	}
	select {
	case <-rn.done:
	case <-t.C:
		answer(w, "progress", fmt.Sprintf("%s: %d entities read", name, rn.items.Load()))
		return
	case <-ctx.Done():
		return
	}
	e, err = s.GetEntry(ctx, e.ID)
	if err != nil {
		s.log.Error("exchange: import", "err", err)
		fail(w, "internal error")
		return
	}
	if done, ok := s.answerEntry(ctx, w, e, sess); done || !ok {
		return
	}
	// Stopped by shutdown: the next call resumes.
	answer(w, "progress", e.Filename+": resuming")
}

// answerEntry answers for an entry that needs no more work: done; ok is
// false when the answer is an error.
func (s *Service) answerEntry(ctx context.Context, w http.ResponseWriter, e Entry, sess session) (done, ok bool) {
	switch {
	case e.Status == StatusSuccess:
		answer(w, "success")
		return true, true
	case e.Status == StatusFailure:
		fail(w, e.Error)
		return true, true
	case e.Stage == StageStaged:
		wait, err := s.waiting(ctx, e, sess)
		if err != nil {
			s.log.Error("exchange: import", "err", err)
			fail(w, "internal error")
			return true, false
		}
		if wait {
			answer(w, "success")
			return true, true
		}
	}
	return false, true
}

// start returns the run of an entry, starting it when none is under way
// in this process (the first call, or the first after a restart); nil
// when another instance on the database runs it. The run holds the
// entry's lock (an advisory lock on PostgreSQL, released if the process
// dies), so that two instances never stage one file side by side.
func (s *Service) start(ctx context.Context, e Entry, sess session, set Settings) *run {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rn, ok := s.runs[e.ID]; ok {
		return rn
	}
	release, ok, err := s.db.TryLockKey(ctx, "commerceml:run:"+strconv.FormatInt(e.ID, 10))
	if err != nil {
		s.log.Warn("exchange: lock of an import", "file", e.Filename, "err", err)
		return nil
	}
	if !ok {
		return nil
	}
	rn := &run{done: make(chan struct{})}
	s.runs[e.ID] = rn
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.runs, e.ID)
			s.mu.Unlock()
			release()
			close(rn.done)
		}()
		// The entry as the last holder left it: another instance may
		// have staged part of the file, or all of it, since it was read.
		cur, err := s.GetEntry(s.ctx, e.ID)
		if err != nil {
			s.log.Warn("exchange: catalog import", "file", e.Filename, "err", err)
			return
		}
		if cur.Status != StatusRunning {
			return
		}
		e = cur
		began := time.Now()
		err = s.runCatalog(s.ctx, e, sess, set, rn)
		if err != nil && (s.ctx.Err() != nil || errors.Is(err, errStopped)) {
			return // shutting down: the entry stays running and resumes
		}
		if errors.Is(err, errJournaled) {
			return
		}
		if err != nil {
			bg := context.Background()
			if cur, gerr := s.GetEntry(bg, e.ID); gerr == nil {
				e = cur
			}
			s.discard(bg, e, err.Error())
			s.log.Warn("exchange: catalog import failed", "file", e.Filename, "err", err)
			if e.Batch != 0 && e.Batch != e.ID {
				// The import.xml it was to switch with goes in alone.
				if err := s.switchBatch(bg, e.Batch, sess, set, false, e.Filename+" failed; switched in without it"); err != nil && !errors.Is(err, errStopped) {
					s.discardBatch(bg, e.Batch, err)
				}
			}
			return
		}
		s.log.Info("exchange: catalog file done", "file", e.Filename, "entities", rn.items.Load(), "took", time.Since(began))
	}()
	return rn
}

// runCatalog stages the file (unless it is staged already) and switches
// its batch in, unless the batch waits for the offers of its package.
func (s *Service) runCatalog(ctx context.Context, e Entry, sess session, set Settings, rn *run) error {
	if e.Stage != StageStaged && e.Stage != StageSwitching {
		if err := s.stage(ctx, e, sess, set, rn); err != nil {
			return err
		}
		var err error
		if e, err = s.GetEntry(ctx, e.ID); err != nil {
			return err
		}
	}
	wait, err := s.waiting(ctx, e, sess)
	if err != nil || wait {
		return err
	}
	if err := s.switchBatch(ctx, e.Batch, sess, set, false, ""); err != nil {
		if ctx.Err() != nil || errors.Is(err, errStopped) {
			return err
		}
		s.discardBatch(context.Background(), e.Batch, err)
		s.log.Warn("exchange: catalog switch failed", "file", e.Filename, "err", err)
		return errJournaled
	}
	return nil
}

// errJournaled: the failure is in the journal already.
var errJournaled = errors.New("journaled")

// catalogTx applies catalog entities one by one inside a write: the
// switch uses it for units, catalogs and services, and for staged
// products that no longer apply as staged (switch.go).
type catalogTx struct {
	t        *store.Tx
	file     string
	counts   Counts
	problems []string
	catalogs map[string]int64 // 1C id of a group or catalog → catalog id
	root     int64            // the Каталог's own catalog
	units    map[string]bool
	active   map[string]bool
	prices   map[string]*commerceml.PriceType
	lastID   int64 // the record the last product, service or offer applied to
	skipped  []SkippedItem
	steps    *stepTimer // the switch's, nil elsewhere
}

// named converts the store's products found by name and article.
func named(ps []store.NamedProduct) []Named {
	out := make([]Named, len(ps))
	for i, p := range ps {
		out[i] = Named{ID: p.ID, ID1C: p.ExternalID}
	}
	return out
}

// unitOf is the dictionary's unit for what 1C wrote; ok is false when it
// names none.
func unitOf(u commerceml.Unit) (crm.Unit, bool) {
	r := u.Resolved()
	key := r.Key()
	if key == "" {
		return crm.Unit{}, false
	}
	cu := crm.Unit{Name: key, Title: r.FullName}
	if okeiDigits(r.Code) {
		cu.OKEI = r.Code
	}
	return cu, true
}

func okeiDigits(s string) bool {
	if len(s) < 3 || len(s) > 4 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Lookup over the write's transaction. Matching 1C's documents to records
// is the system's own: it sees every record (Unscoped), whoever's
// session runs the exchange.
func (c *catalogTx) ProductsByNameArticle(n, a string) ([]Named, error) {
	ps, err := c.t.ProductsByNameArticle(n, a, System)
	return named(ps), err
}
func (c *catalogTx) ServiceByName(n string) (int64, error) { return c.t.ServiceIDByName(n) }
func (c *catalogTx) AccountByName(n string) (int64, error) { return c.t.Unscoped().AccountIDByTitle(n) }
func (c *catalogTx) OrderByNumber(n string) (int64, error) {
	return c.t.Unscoped().SalesOrderIDByNumber(n)
}
func (c *catalogTx) ByExternal(e, id string) (int64, error) {
	return c.t.Unscoped().IDByExternal(e, System, id)
}

func (c *catalogTx) isActive(code string) bool {
	if v, ok := c.active[code]; ok {
		return v
	}
	v, err := c.t.CurrencyActive(code)
	if err != nil {
		return false
	}
	c.active[code] = v
	return v
}

// problem records an entity that failed while the rest goes on; a
// store error that is not about the entity's data stops the import.
func (c *catalogTx) problem(entity string, line int, what string, err error) error {
	if _, ok := crm.AsFieldError(err); !ok && !errors.Is(err, errEntity) {
		return fmt.Errorf("commerceml: %s line %d: %s: %w", c.file, line, what, err)
	}
	c.counts.of(entity).Failed++
	c.warn(fmt.Sprintf("%s line %d: %s: %v", c.file, line, what, err))
	if len(c.skipped) < maxSkipped {
		c.skipped = append(c.skipped, SkippedItem{File: c.file, Line: line, Name: what, Reason: err.Error()})
	}
	return nil
}

// errEntity marks an error about one entity's data.
var errEntity = errors.New("refused")

// catalog creates or renames the catalog of a 1C group or catalog,
// matched by its 1C id only.
func (c *catalogTx) catalog(id1c, name, parent1c string, line int) error {
	if strings.TrimSpace(id1c) == "" {
		return c.problem("catalog", line, "group without <Ид>", errEntity)
	}
	m, err := MatchCatalog(c, id1c)
	if err != nil {
		return err
	}
	parent := c.catalogs[parent1c]
	if m.ID == 0 {
		cat, err := c.t.CreateCatalog(crm.Catalog{Name: name, ParentID: parent, Extra: crm.Extra{ExternalIDs: map[string]string{System: id1c}}})
		if err != nil {
			return c.problem("catalog", line, fmt.Sprintf("catalog %q", name), err)
		}
		c.catalogs[id1c] = cat.ID
		c.counts.of("catalog").Created++
		return nil
	}
	c.catalogs[id1c] = m.ID
	_, err = c.t.UpdateCatalog(m.ID, func(cat *crm.Catalog) error {
		cat.Name = name
		if parent != 0 {
			cat.ParentID = parent
		}
		return nil
	})
	if err != nil {
		return c.problem("catalog", line, fmt.Sprintf("catalog %q", name), err)
	}
	c.counts.of("catalog").Updated++
	return nil
}

// unit ensures a unit named in an order line.
func (c *catalogTx) unit(name string) error { return c.goodUnit(commerceml.Unit{Short: name}) }

// goodUnit ensures the unit of a good, with its ОКЕИ code and full name.
func (c *catalogTx) goodUnit(u commerceml.Unit) error {
	cu, ok := unitOf(u)
	if !ok || c.units[cu.Name] {
		return nil
	}
	c.units[cu.Name] = true
	return c.t.EnsureUnitCoded(cu)
}

func (c *catalogTx) warn(text string) {
	c.problems = addProblem(c.problems, text)
}

func (c *catalogTx) fileName() string { return c.file }

func (c *catalogTx) memberships(groups []string) []int64 {
	return memberships(c.catalogs, c.root, groups)
}

// setExternal gives a record its 1C id unless another record has it.
func (c *catalogTx) setExternal(entity string, id int64, ext *map[string]string, id1c string) error {
	if id1c == "" || (*ext)[System] == id1c {
		return nil
	}
	other, err := c.t.Unscoped().IDByExternal(entity, System, id1c)
	if err != nil {
		return err
	}
	if other != 0 && other != id {
		return nil // matched by name; the 1C id stays with the record that has it
	}
	if *ext == nil {
		*ext = map[string]string{}
	}
	(*ext)[System] = id1c
	return nil
}

// product applies a good as the stager does (goods.go), in the write.
func (c *catalogTx) product(g *commerceml.Good) error {
	what := fmt.Sprintf("product %q (article %q)", g.Name, g.Article)
	m, vat, ok, err := matchGood(c, g)
	if err != nil || !ok {
		return err
	}
	cats := c.memberships(g.GroupIDs)
	if m.ID == 0 {
		var p crm.Product
		fillFromGood(&p, g, m, vat, cats)
		np, err := c.t.CreateProduct(p)
		if err != nil {
			return c.problem("product", g.Line, what, err)
		}
		c.lastID = np.ID
		c.counts.of("product").Created++
		return nil
	}
	c.lastID = m.ID
	_, err = c.t.UpdateProduct(m.ID, func(p *crm.Product) error {
		fillFromGood(p, g, m, vat, cats)
		return nil
	})
	if err != nil {
		return c.problem("product", g.Line, what, err)
	}
	c.counts.of("product").Updated++
	return nil
}

func (c *catalogTx) service(g *commerceml.Good) error {
	what := fmt.Sprintf("service %q", g.Name)
	vat, err := ParseVAT(g.VAT())
	if err != nil {
		return c.problem("service", g.Line, what, fmt.Errorf("%w: %w", errEntity, err))
	}
	if err := c.goodUnit(g.Unit); err != nil {
		return err
	}
	m, err := MatchService(c, g.Name, g.ID)
	if err != nil {
		return err
	}
	cats := c.memberships(g.GroupIDs)
	id1c := strings.TrimSpace(g.ID)
	if m.ID == 0 {
		v := crm.Service{Name: g.Name, Unit: g.Unit.Key(), VATRate: vat, VATIncluded: true, Description: g.Description,
			Active: true, CatalogIDs: cats, Extra: crm.Extra{ExternalIDs: map[string]string{}}}
		if id1c != "" {
			if other, err := c.t.Unscoped().IDByExternal("service", System, id1c); err != nil {
				return err
			} else if other == 0 {
				v.ExternalIDs[System] = id1c
			}
		}
		nv, err := c.t.CreateService(v)
		if err != nil {
			return c.problem("service", g.Line, what, err)
		}
		c.lastID = nv.ID
		c.counts.of("service").Created++
		return nil
	}
	c.lastID = m.ID
	_, err = c.t.UpdateService(m.ID, func(v *crm.Service) error {
		if m.Rule == ByExternalID {
			v.Name = g.Name
		}
		if u := g.Unit.Key(); u != "" {
			v.Unit = u
		}
		v.VATRate = vat
		if len(cats) > 0 {
			v.CatalogIDs = cats
		}
		return c.setExternal("service", v.ID, &v.ExternalIDs, id1c)
	})
	if err != nil {
		return c.problem("service", g.Line, what, err)
	}
	c.counts.of("service").Updated++
	return nil
}

// offerVals is what an offer sets: price (of the chosen price type),
// currency and VAT inclusion when it has one, stock when it has a
// quantity; the prices of every type and the stock per warehouse; and how
// the good is found. A variant (an offer with a "#" id) sets its own
// row, never the product's price or stock directly.
type offerVals struct {
	Name, Article, ID1C string
	OfferID             string                 `json:",omitempty"`
	Variant             bool                   `json:",omitempty"`
	Chars               []commerceml.Requisite `json:",omitempty"`
	HasChars            bool                   `json:",omitempty"`
	Pictures            []string               `json:",omitempty"`
	Price               *crm.Amount
	Currency            string
	Included            bool
	Prices              []typedPrice `json:",omitempty"`
	Stock               *crm.Quantity
	Stocks              []whStock `json:",omitempty"`
	Line                int
}

// typedPrice is an offer's price of one price type.
type typedPrice struct {
	Type, TypeID1C string
	Price          crm.Amount
	Currency       string
}

// whStock is an offer's stock in one warehouse (1C's id of it).
type whStock struct {
	Warehouse string
	Quantity  crm.Quantity
}

func (v *offerVals) what() string { return fmt.Sprintf("offer %q (article %q)", v.Name, v.Article) }

// set applies the offer's values to a product.
func (v *offerVals) set(p *crm.Product) {
	if v.Price != nil {
		p.Price, p.Currency, p.VATIncluded = *v.Price, v.Currency, v.Included
	}
	if v.Stock != nil {
		p.Stock = *v.Stock
	}
}

// readOffer reads an offer's values; chosen is the id of the price type
// the product's price is taken from ("" when the package declares no
// price types: then the offer's only price). An error wraps errEntity.
func readOffer(o *commerceml.Offer, prices map[string]*commerceml.PriceType, chosen string, currency func(code, fallback, what string) (string, error)) (*offerVals, error) {
	v := &offerVals{Name: strings.TrimSpace(o.Name), Article: strings.TrimSpace(o.Article), ID1C: o.GoodID(), OfferID: strings.TrimSpace(o.ID),
		Variant: o.IsVariant(), Included: true, Line: o.Line}
	for _, ch := range o.Characteristics {
		v.Chars = append(v.Chars, commerceml.Requisite{Name: strings.TrimSpace(ch.Name), Value: strings.TrimSpace(ch.Value)})
	}
	v.HasChars = len(o.Characteristics) > 0
	for _, p := range o.Pictures {
		if p = strings.TrimSpace(p); p != "" {
			v.Pictures = append(v.Pictures, p)
		}
	}
	what := v.what()
	if chosen == "" && len(o.Prices) > 1 {
		return nil, fmt.Errorf("%w: %d prices and no <ТипыЦен> in the package to choose the price type from", errEntity, len(o.Prices))
	}
	for _, p := range o.Prices {
		typeID := strings.TrimSpace(p.TypeID)
		fallback, name, included := "", typeID, true
		if pt := prices[typeID]; pt != nil {
			fallback, included = pt.Currency, pt.TaxIncluded()
			if n := strings.TrimSpace(pt.Name); n != "" {
				name = n
			}
		}
		isChosen := chosen == "" || typeID == chosen
		a, err := ParseAmount(p.PerUnit)
		if err != nil {
			if !isChosen {
				continue // a price of another type that cannot be read is not kept
			}
			return nil, fmt.Errorf("%w: price %q of type %q: %w", errEntity, p.PerUnit, name, err)
		}
		cur, err := currency(p.Currency, fallback, what)
		if err != nil {
			if !isChosen {
				continue
			}
			return nil, fmt.Errorf("%w: %w", errEntity, err)
		}
		if name == "" {
			name = "—"
		}
		v.Prices = append(v.Prices, typedPrice{Type: name, TypeID1C: typeID, Price: a, Currency: cur})
		if isChosen && v.Price == nil {
			v.Price, v.Currency, v.Included = &a, cur, included
		}
	}
	var stocks []whStock
	var sum crm.Quantity
	addStock := func(wh, x string) error {
		if strings.TrimSpace(x) == "" {
			return nil // УТ 11 writes КоличествоНаСкладе="" for none
		}
		q, err := ParseQuantity(x)
		if err != nil {
			return fmt.Errorf("%w: stock %q of warehouse %q: %w", errEntity, x, wh, err)
		}
		sum += q
		if wh = strings.TrimSpace(wh); wh != "" {
			for i := range stocks {
				if stocks[i].Warehouse == wh {
					stocks[i].Quantity += q
					return nil
				}
			}
			stocks = append(stocks, whStock{Warehouse: wh, Quantity: q})
		}
		return nil
	}
	seen := false
	for _, st := range o.Stores {
		seen = true
		if err := addStock(st.ID, st.Quantity); err != nil {
			return nil, err
		}
	}
	for _, r := range o.Rests {
		seen = true
		for _, w := range r.Warehouses {
			if err := addStock(w.ID, w.Quantity); err != nil {
				return nil, err
			}
		}
		if r.Quantity != nil && len(r.Warehouses) == 0 {
			if err := addStock("", *r.Quantity); err != nil {
				return nil, err
			}
		}
	}
	v.Stocks = stocks
	switch {
	case o.Quantity != nil:
		q, err := ParseQuantity(*o.Quantity)
		if err != nil {
			return nil, fmt.Errorf("%w: quantity %q: %w", errEntity, *o.Quantity, err)
		}
		v.Stock = &q
	case seen:
		v.Stock = &sum
	}
	return v, nil
}

// ChoosePriceType picks the price type the products' price is taken
// from, among those a package declares: the one the settings name (by
// name or 1C id), else the one named "Розничная", else the only one. It
// refuses when that leaves a choice, naming the types. No types
// declared: "" (an offer's only price is taken).
func ChoosePriceType(types map[string]*commerceml.PriceType, setting string) (string, error) {
	if len(types) == 0 {
		return "", nil
	}
	var ids []string
	for id := range types {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	find := func(want string) string {
		want = strings.TrimSpace(want)
		for _, id := range ids {
			if id == want {
				return id
			}
		}
		for _, id := range ids {
			if strings.EqualFold(strings.TrimSpace(types[id].Name), want) {
				return id
			}
		}
		return ""
	}
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = fmt.Sprintf("%q (Ид %s)", strings.TrimSpace(types[id].Name), id)
	}
	if strings.TrimSpace(setting) != "" {
		if id := find(setting); id != "" {
			return id, nil
		}
		return "", fmt.Errorf("the price type %q chosen in the exchange settings is not among the package's price types: %s", setting, strings.Join(names, ", "))
	}
	if id := find(DefaultPriceType); id != "" {
		return id, nil
	}
	if len(ids) == 1 {
		return ids[0], nil
	}
	return "", fmt.Errorf("the package has %d price types (%s) and none is named %q: choose the one to take in the exchange settings (price type)",
		len(ids), strings.Join(names, ", "), DefaultPriceType)
}

// DefaultPriceType is the price type taken when the settings choose none.
const DefaultPriceType = "Розничная"

// applyOffer finds the good of an offer in the write and updates it.
func (c *catalogTx) applyOffer(v *offerVals) error {
	what := v.what()
	pm, err := MatchProduct(c, v.Name, v.Article, v.ID1C)
	if err != nil {
		return err
	}
	if pm.ID != 0 {
		c.lastID = pm.ID
		_, err := c.t.UpdateProduct(pm.ID, func(p *crm.Product) error {
			v.set(p)
			return nil
		})
		if err != nil {
			return c.problem("product", v.Line, what, err)
		}
		c.counts.of("product").Updated++
		return nil
	}
	sm, err := MatchService(c, v.Name, v.ID1C)
	if err != nil {
		return err
	}
	if sm.ID == 0 || v.Price == nil {
		c.counts.of("offer").Skipped++
		if len(c.skipped) < maxSkipped {
			reason := "offer skipped: no product or service has its 1C id (nor, for a hand-made one, its name and article)"
			if sm.ID != 0 {
				reason = "offer of a service skipped: it has no price of the chosen price type"
			}
			c.skipped = append(c.skipped, SkippedItem{ID: v.OfferID, Name: v.Name, File: c.file, Line: v.Line, Reason: reason})
		}
		return nil
	}
	if _, err := c.t.UpdateService(sm.ID, func(x *crm.Service) error {
		x.Price, x.Currency, x.VATIncluded = *v.Price, v.Currency, v.Included
		return nil
	}); err != nil {
		return c.problem("service", v.Line, what, err)
	}
	c.counts.of("service").Updated++
	return nil
}
