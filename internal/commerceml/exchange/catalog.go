package exchange

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
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
// time and answers progress, success or failure. The whole file is
// applied in one transaction, so users never see half of a catalog, and a
// restart rolls it back and the next call starts it over.
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
			filePath: p, FileSize: st.Size()})
		if err != nil {
			s.log.Error("exchange: import", "err", err)
			fail(w, "internal error")
			return
		}
	}
	switch e.Status {
	case StatusSuccess:
		answer(w, "success")
		return
	case StatusFailure:
		fail(w, e.Error)
		return
	}
	rn := s.start(e, sess, set)
	t := time.NewTimer(time.Duration(set.StepMillis) * time.Millisecond)
	defer t.Stop()
	select {
	case <-rn.done:
	case <-t.C:
		answer(w, "progress", fmt.Sprintf("%s: %d entities read", name, rn.items.Load()))
		return
	case <-ctx.Done():
		return
	}
	e, err = s.GetEntry(ctx, e.ID)
	switch {
	case err != nil:
		s.log.Error("exchange: import", "err", err)
		fail(w, "internal error")
	case e.Status == StatusSuccess:
		answer(w, "success")
	case e.Status == StatusFailure:
		fail(w, e.Error)
	default:
		// Stopped by shutdown: the next call resumes.
		answer(w, "progress", name+": resuming")
	}
}

// start returns the run of an entry, starting it when none is under way
// in this process (the first call, or the first after a restart).
func (s *Service) start(e Entry, sess session, set Settings) *run {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rn, ok := s.runs[e.ID]; ok {
		return rn
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
			close(rn.done)
		}()
		began := time.Now()
		err := s.runCatalog(s.ctx, e, sess, set, rn)
		if err != nil && s.ctx.Err() != nil {
			return // shutting down: the entry stays running and resumes
		}
		if err != nil {
			if ferr := s.finish(context.Background(), e.ID, StatusFailure, nil, nil, err.Error()); ferr != nil {
				s.log.Error("exchange: journal", "err", ferr)
			}
			s.log.Warn("exchange: catalog import failed", "file", e.Filename, "err", err)
			return
		}
		s.log.Info("exchange: catalog imported", "file", e.Filename, "entities", rn.items.Load(), "took", time.Since(began))
	}()
	return rn
}

// catalogTx is one catalog file being applied.
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
	n        int
}

// Lookup over the write's transaction. Matching 1C's documents to records
// is the system's own: it sees every record (Unscoped), whoever's
// session runs the exchange.
func (c *catalogTx) ProductByNameArticle(n, a string) (int64, error) {
	return c.t.ProductIDByNameArticle(n, a)
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
	if len(c.problems) < 1000 {
		c.problems = append(c.problems, fmt.Sprintf("%s line %d: %s: %v", c.file, line, what, err))
	}
	return nil
}

// errEntity marks an error about one entity's data.
var errEntity = errors.New("refused")

func (s *Service) runCatalog(ctx context.Context, e Entry, sess session, set Settings, rn *run) error {
	f, err := os.Open(e.filePath)
	if err != nil {
		return fmt.Errorf("exchange: %s: %w", e.Filename, err)
	}
	defer f.Close()
	name := filepath.Base(e.Filename)
	return s.store.Write(ctx, actor(sess, set), func(t *store.Tx) error {
		c := &catalogTx{t: t, file: name, counts: Counts{}, catalogs: map[string]int64{}, units: map[string]bool{},
			active: map[string]bool{}, prices: map[string]*commerceml.PriceType{}}
		rd := commerceml.NewReader(f, name)
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			v, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			rn.items.Add(1)
			if err := c.apply(v); err != nil {
				return err
			}
			if c.n++; c.n%64 == 0 {
				if err := t.FlushEvents(); err != nil {
					return err
				}
			}
		}
		_, err := t.Exec(finishSQL, finishArgs(e.ID, StatusSuccess, s.now(), c.counts, c.problems, "")...)
		return err
	})
}

func (c *catalogTx) apply(v any) error {
	switch x := v.(type) {
	case *commerceml.Group:
		return c.catalog(x.ID, x.Name, x.ParentID, x.Line)
	case *commerceml.Catalog:
		if err := c.catalog(x.ID, x.Name, "", x.Line); err != nil {
			return err
		}
		c.root = c.catalogs[x.ID]
	case *commerceml.Good:
		if x.IsService() {
			return c.service(x)
		}
		return c.product(x)
	case *commerceml.PriceType:
		c.prices[strings.TrimSpace(x.ID)] = x
	case *commerceml.Offer:
		return c.offer(x)
	case *commerceml.Document:
		return fmt.Errorf("commerceml: %s line %d: an orders document belongs to type=sale", c.file, x.Line)
	}
	return nil
}

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

func (c *catalogTx) unit(name string) error {
	name = strings.TrimSpace(name)
	if name == "" || c.units[name] {
		return nil
	}
	c.units[name] = true
	return c.t.EnsureUnit(name)
}

func (c *catalogTx) memberships(groups []string) []int64 {
	var ids []int64
	seen := map[int64]bool{}
	add := func(id int64) {
		if id != 0 && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, g := range groups {
		add(c.catalogs[strings.TrimSpace(g)])
	}
	add(c.root)
	return ids
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

func (c *catalogTx) product(g *commerceml.Good) error {
	what := fmt.Sprintf("product %q (article %q)", g.Name, g.Article)
	vat, err := ParseVAT(g.VAT())
	if err != nil {
		return c.problem("product", g.Line, what, fmt.Errorf("%w: %w", errEntity, err))
	}
	if err := c.unit(g.Unit); err != nil {
		return err
	}
	m, err := MatchProduct(c, g.Name, g.Article, g.ID)
	if err != nil {
		return err
	}
	cats := c.memberships(g.GroupIDs)
	id1c := strings.TrimSpace(g.ID)
	if m.ID == 0 {
		p := crm.Product{Name: g.Name, Article: strings.TrimSpace(g.Article), Unit: strings.TrimSpace(g.Unit), VATRate: vat, VATIncluded: true,
			Description: g.Description, Active: true, CatalogIDs: cats, Extra: crm.Extra{ExternalIDs: map[string]string{}}}
		if id1c != "" {
			if other, err := c.t.Unscoped().IDByExternal("product", System, id1c); err != nil {
				return err
			} else if other == 0 {
				p.ExternalIDs[System] = id1c
			}
		}
		if _, err := c.t.CreateProduct(p); err != nil {
			return c.problem("product", g.Line, what, err)
		}
		c.counts.of("product").Created++
		return nil
	}
	_, err = c.t.UpdateProduct(m.ID, func(p *crm.Product) error {
		if m.Rule == ByExternalID {
			p.Name, p.Article = g.Name, strings.TrimSpace(g.Article)
		}
		if u := strings.TrimSpace(g.Unit); u != "" {
			p.Unit = u
		}
		p.VATRate = vat
		if g.Description != "" {
			p.Description = g.Description
		}
		if len(cats) > 0 {
			p.CatalogIDs = cats
		}
		return c.setExternal("product", p.ID, &p.ExternalIDs, id1c)
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
	if err := c.unit(g.Unit); err != nil {
		return err
	}
	m, err := MatchService(c, g.Name, g.ID)
	if err != nil {
		return err
	}
	cats := c.memberships(g.GroupIDs)
	id1c := strings.TrimSpace(g.ID)
	if m.ID == 0 {
		v := crm.Service{Name: g.Name, Unit: strings.TrimSpace(g.Unit), VATRate: vat, VATIncluded: true, Description: g.Description,
			Active: true, CatalogIDs: cats, Extra: crm.Extra{ExternalIDs: map[string]string{}}}
		if id1c != "" {
			if other, err := c.t.Unscoped().IDByExternal("service", System, id1c); err != nil {
				return err
			} else if other == 0 {
				v.ExternalIDs[System] = id1c
			}
		}
		if _, err := c.t.CreateService(v); err != nil {
			return c.problem("service", g.Line, what, err)
		}
		c.counts.of("service").Created++
		return nil
	}
	_, err = c.t.UpdateService(m.ID, func(v *crm.Service) error {
		if m.Rule == ByExternalID {
			v.Name = g.Name
		}
		if u := strings.TrimSpace(g.Unit); u != "" {
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

// offer updates price, currency and stock of the good it is for. A good
// is found as in the catalog: product by name and article, then by 1C id;
// else service by name, then by 1C id. An offer for nothing known is
// skipped.
func (c *catalogTx) offer(o *commerceml.Offer) error {
	what := fmt.Sprintf("offer %q (article %q)", o.Name, o.Article)
	var price *crm.Amount
	var currency string
	included := true
	if len(o.Prices) > 0 {
		p := o.Prices[0]
		fallback := ""
		if pt := c.prices[strings.TrimSpace(p.TypeID)]; pt != nil {
			fallback = pt.Currency
			included = pt.TaxIncluded()
		}
		a, err := ParseAmount(p.PerUnit)
		if err != nil {
			return c.problem("offer", o.Line, what, fmt.Errorf("%w: price %q: %w", errEntity, p.PerUnit, err))
		}
		price = &a
		cur, err := Currency(p.Currency, fallback, c.isActive, what)
		if err != nil {
			return c.problem("offer", o.Line, what, fmt.Errorf("%w: %w", errEntity, err))
		}
		currency = cur
	}
	var stock *crm.Quantity
	switch {
	case o.Quantity != nil:
		q, err := ParseQuantity(*o.Quantity)
		if err != nil {
			return c.problem("offer", o.Line, what, fmt.Errorf("%w: quantity %q: %w", errEntity, *o.Quantity, err))
		}
		stock = &q
	case len(o.Rests) > 0:
		var sum crm.Quantity
		for _, r := range o.Rests {
			vals := r.Warehouses
			if r.Quantity != nil {
				vals = append(vals, *r.Quantity)
			}
			for _, v := range vals {
				q, err := ParseQuantity(v)
				if err != nil {
					return c.problem("offer", o.Line, what, fmt.Errorf("%w: rest %q: %w", errEntity, v, err))
				}
				sum += q
			}
		}
		stock = &sum
	}
	id1c := o.GoodID()
	pm, err := MatchProduct(c, o.Name, o.Article, id1c)
	if err != nil {
		return err
	}
	if o.Name == "" && pm.Rule == ByNameArticle {
		pm = Match{Rule: NoMatch}
	}
	if pm.ID != 0 {
		_, err := c.t.UpdateProduct(pm.ID, func(p *crm.Product) error {
			if price != nil {
				p.Price, p.Currency, p.VATIncluded = *price, currency, included
			}
			if stock != nil {
				p.Stock = *stock
			}
			return nil
		})
		if err != nil {
			return c.problem("product", o.Line, what, err)
		}
		c.counts.of("product").Updated++
		return nil
	}
	sm, err := MatchService(c, o.Name, id1c)
	if err != nil {
		return err
	}
	if sm.ID == 0 || price == nil {
		c.counts.of("offer").Skipped++
		return nil
	}
	if _, err := c.t.UpdateService(sm.ID, func(v *crm.Service) error {
		v.Price, v.Currency, v.VATIncluded = *price, currency, included
		return nil
	}); err != nil {
		return c.problem("service", o.Line, what, err)
	}
	c.counts.of("service").Updated++
	return nil
}
