package exchange

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/commerceml"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
)

// Stages of a catalog file (Entry.Stage).
const (
	StageStaging   = "staging"
	StageStaged    = "staged"
	StageSwitching = "switching" // its switch has begun, chunk by chunk
	StageSwitched  = "switched"
	StageDiscarded = "discarded"
)

// chunkSize is how many entities one staging transaction holds: small
// enough that other writers (lead intake, the API) wait for it at most a
// few tens of milliseconds, large enough that staging is not slowed down
// by commits.
const chunkSize = 1000

// stagedSrc is what 1C sent for a staged product: the switch applies it
// afresh, with the rules of a fresh import, when the staged row no longer
// applies as it was prepared.
type stagedSrc struct {
	Good  *commerceml.Good `json:"good,omitempty"`
	Offer *offerVals       `json:"offer,omitempty"`
}

// stagedProduct is one product as the switch will write it.
type stagedProduct struct {
	RecordID int64
	Op       string // events.Create or events.Update
	ID1C     string // the 1C id of the good: staged creates are matched by it
	New      crm.Product
	Old      *crm.Product // update: the product as it was when staged
	Base     int64        // update: its stamp then (store.ProductStamp)
	Src      stagedSrc
	// supersedes: an earlier row of the batch for the same product
	// (prevFile's) stays behind this one.
	supersedes bool
	prevFile   int64
	seq        int64
}

func cloneProduct(p crm.Product) crm.Product {
	q := p
	q.CatalogIDs = slices.Clone(p.CatalogIDs)
	if p.VATRate != nil {
		v := *p.VATRate
		q.VATRate = &v
	}
	if p.ExternalIDs != nil {
		q.ExternalIDs = map[string]string{}
		for k, v := range p.ExternalIDs {
			q.ExternalIDs[k] = v
		}
	}
	if p.Custom != nil {
		q.Custom = map[string]any{}
		for k, v := range p.Custom {
			q.Custom[k] = v
		}
	}
	return q
}

func (r *stagedProduct) clone() *stagedProduct {
	c := *r
	c.New = cloneProduct(r.New)
	return &c
}

// catalogRow is a staged group or Каталог: ID is the catalog matched by
// the 1C id when staged, or the id reserved for a new one.
type catalogRow struct {
	ID1C, Name, Parent1C string
	ID                   int64
	New, Root            bool
	Line                 int
}

type otherRow struct {
	seq  int64
	kind string
	data any
}

// stager stages one file.
type stager struct {
	s        *Service
	ctx      context.Context
	e        Entry
	file     string
	actor    crm.Actor
	now      time.Time
	counts   Counts
	problems []string
	full     bool
	catalogs map[string]int64
	root     int64
	units    map[string]bool
	active   map[string]bool
	prices   map[string]*commerceml.PriceType
	// The price type chosen for products' price (ChoosePriceType), once
	// the first offer is read; priceSetting is the settings' choice.
	chosen       string
	chosenDone   bool
	priceSetting string
	aliases      map[string]string // currency aliases
	skipped      []SkippedItem
	cur          SkippedItem // the entity being read: problems name it
	offerRows    []stagedOffer
	ids          []int64 // product ids reserved and not used yet
	seq          int64

	// The chunk being staged.
	rows     []*stagedProduct
	byRecord map[int64]*stagedProduct
	byKey    map[string]*stagedProduct // creates by name and article
	byID1C   map[string]*stagedProduct // creates by 1C id
	others   []otherRow
	pending  int

	// Filters of what may match, so that most goods of a large new
	// catalog are staged without a look-up: hashes of the names and
	// articles and of the 1C ids of committed products (as staging
	// began: one a user creates since is caught at the switch, see
	// store.MarkStaleProducts) and of the batch's staged creates.
	committedKeys, committedIDs keySet
	stagedKeys, stagedIDs       keyIDs
	// last is the row stagedCreate read, not yet changed.
	last *stagedProduct
	// ahead: the live staged rows of record ids [aheadFrom, aheadTo),
	// read together (see staged); nil when none are held.
	ahead              map[int64]stagedRaw
	aheadFrom, aheadTo int64
}

// keyIDs maps hashes to the product staged under them (a hit is checked).
type keyIDs map[uint64]int64

func (k keyIDs) add(id int64, parts ...string) { k[hashKey(parts...)] = id }

// keySet holds 64-bit hashes: a miss is certain, a hit is checked.
type keySet map[uint64]struct{}

func hashKey(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	return h.Sum64()
}

func (k keySet) add(parts ...string)      { k[hashKey(parts...)] = struct{}{} }
func (k keySet) has(parts ...string) bool { _, ok := k[hashKey(parts...)]; return ok }

// filters builds the filters from committed data and the batch.
func (st *stager) filters() error {
	st.committedKeys, st.committedIDs, st.stagedKeys, st.stagedIDs = keySet{}, keySet{}, keyIDs{}, keyIDs{}
	if err := st.s.store.EachProductKey(st.ctx, func(n, a string) { st.committedKeys.add(n, a) }); err != nil {
		return err
	}
	if err := st.s.store.EachExternalID(st.ctx, store.EntityProduct, System, func(id string) { st.committedIDs.add(id) }); err != nil {
		return err
	}
	rows, err := st.s.db.Bulk.QueryContext(st.ctx, "SELECT record_id, name, article, id1c FROM cml_stage_products WHERE batch_id = $1 AND superseded_by = 0 AND op = 'create'", st.e.Batch)
	if err != nil {
		return fmt.Errorf("exchange: staged products: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rec int64
		var n, a, id string
		if err := rows.Scan(&rec, &n, &a, &id); err != nil {
			return fmt.Errorf("exchange: staged products: %w", err)
		}
		st.stagedKeys.add(rec, n, a)
		if id != "" {
			st.stagedIDs.add(rec, id)
		}
	}
	return rows.Err()
}

// companion is the name of the other file of a package: offers.xml for
// import.xml, offers0_1.xml for import0_1.xml (and back).
func companion(name, from, to string) (string, bool) {
	dir, base := path.Split(name)
	if !strings.HasPrefix(base, from) || !strings.HasSuffix(strings.ToLower(base), ".xml") {
		return "", false
	}
	return dir + to + strings.TrimPrefix(base, from), true
}

// waiting reports whether a staged import.xml waits for the offers of its
// package: they are uploaded in the same session and not imported yet
// (or being staged into its batch).
func (s *Service) waiting(ctx context.Context, e Entry, sess session) (bool, error) {
	if e.Stage != StageStaged || e.Batch != e.ID || e.Status != StatusRunning {
		return false, nil
	}
	off, ok := companion(e.Filename, "import", "offers")
	if !ok {
		return false, nil
	}
	if st, err := os.Stat(filepath.Join(s.sessionDir(e.sessionID), filepath.FromSlash(off))); err != nil || st.IsDir() {
		return false, nil
	}
	oe, found, err := s.openEntry(ctx, e.sessionID, "catalog", off)
	if err != nil || !found {
		return !found, err
	}
	return oe.Status == StatusRunning && oe.Stage == StageStaging && (oe.Batch == 0 || oe.Batch == e.ID), nil
}

// write is db.Write that records how long it held the writer.
func (s *Service) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		t0 := time.Now()
		defer s.noteHold(t0)
		return fn(ctx, tx)
	})
}

func (s *Service) noteHold(t0 time.Time) {
	d := int64(time.Since(t0))
	for {
		old := s.maxHold.Load()
		if d <= old || s.maxHold.CompareAndSwap(old, d) {
			return
		}
	}
}

// stage reads the file and stages what it holds, chunk by chunk; after a
// restart it skips the entities already staged.
func (s *Service) stage(ctx context.Context, e Entry, sess session, set Settings, rn *run) error {
	st := &stager{s: s, ctx: store.WithBulkReads(ctx), e: e, file: filepath.Base(e.Filename), actor: actor(sess, set), now: s.now(),
		counts: e.Counts, problems: e.Problems, catalogs: map[string]int64{}, units: map[string]bool{},
		active: map[string]bool{}, prices: map[string]*commerceml.PriceType{},
		byRecord: map[int64]*stagedProduct{}, byKey: map[string]*stagedProduct{}, byID1C: map[string]*stagedProduct{},
		priceSetting: set.PriceType, skipped: e.Skipped}
	if st.counts == nil {
		st.counts = Counts{}
	}
	if e.Batch == 0 {
		batch := e.ID
		if imp, ok := companion(e.Filename, "offers", "import"); ok {
			ie, found, err := s.openEntry(ctx, e.sessionID, "catalog", imp)
			if err != nil {
				return err
			}
			if found && ie.Status == StatusRunning && ie.Stage == StageStaged && ie.Batch == ie.ID {
				batch = ie.ID
			}
		}
		if err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "UPDATE cml_exchanges SET batch_id = $1, stage = $2 WHERE id = $3", batch, StageStaging, e.ID)
			return err
		}); err != nil {
			return fmt.Errorf("exchange: journal: %w", err)
		}
		st.e.Batch = batch
	}
	if err := st.load(); err != nil {
		return err
	}
	aliases, err := s.store.CurrencyAliasMap(st.ctx)
	if err != nil {
		return err
	}
	st.aliases = aliases
	if err := st.filters(); err != nil {
		return err
	}
	f, err := os.Open(e.filePath)
	if err != nil {
		return fmt.Errorf("exchange: %s: %w", e.Filename, err)
	}
	defer f.Close()
	next, stop := readAhead(commerceml.NewReader(f, st.file))
	defer stop()
	var i int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		i++
		rn.items.Add(1)
		if i <= e.stagedItems {
			st.replay(v)
			continue
		}
		st.seq = i
		if err := st.apply(v); err != nil {
			return err
		}
		if st.pending++; st.pending >= chunkSize {
			if err := st.flush(i, false); err != nil {
				return err
			}
		}
	}
	return st.flush(i, true)
}

// load takes back what earlier chunks of the file staged: its catalogs
// and units.
func (st *stager) load() error {
	rows, err := st.s.db.Bulk.QueryContext(st.ctx, "SELECT kind, data FROM cml_stage_other WHERE batch_id = $1 AND file_id = $2 AND kind IN ('catalog', 'unit')",
		st.e.Batch, st.e.ID)
	if err != nil {
		return fmt.Errorf("exchange: staged rows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, data string
		if err := rows.Scan(&kind, &data); err != nil {
			return fmt.Errorf("exchange: staged rows: %w", err)
		}
		if kind == "unit" {
			var u commerceml.Unit
			_ = json.Unmarshal([]byte(data), &u)
			st.units[u.Key()] = true
			continue
		}
		var c catalogRow
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			return fmt.Errorf("exchange: staged catalog: %w", err)
		}
		st.catalogs[c.ID1C] = c.ID
		if c.Root {
			st.root = c.ID
		}
	}
	return rows.Err()
}

// replay rebuilds what later entities need of one staged before a
// restart.
func (st *stager) replay(v any) {
	switch x := v.(type) {
	case *commerceml.PriceType:
		st.prices[strings.TrimSpace(x.ID)] = x
	case *commerceml.Catalog:
		st.full = !x.OnlyChanges
	}
}

func (st *stager) apply(v any) error {
	st.last = nil
	st.cur = SkippedItem{}
	switch x := v.(type) {
	case *commerceml.Good:
		st.cur = SkippedItem{ID: strings.TrimSpace(x.ID), Name: strings.TrimSpace(x.Name)}
	case *commerceml.Offer:
		st.cur = SkippedItem{ID: strings.TrimSpace(x.ID), Name: strings.TrimSpace(x.Name)}
	}
	switch x := v.(type) {
	case *commerceml.Group:
		return st.catalog(x.ID, x.Name, x.ParentID, x.Line, false)
	case *commerceml.Catalog:
		st.full = !x.OnlyChanges
		return st.catalog(x.ID, x.Name, "", x.Line, true)
	case *commerceml.Good:
		if x.IsService() {
			if err := st.goodUnit(x.Unit); err != nil {
				return err
			}
			st.other("service", x)
			return nil
		}
		return st.product(x)
	case *commerceml.PriceType:
		st.prices[strings.TrimSpace(x.ID)] = x
	case *commerceml.Offer:
		return st.offer(x)
	case *commerceml.Document:
		return fmt.Errorf("commerceml: %s line %d: an orders document belongs to type=sale", st.file, x.Line)
	}
	return nil
}

func (st *stager) other(kind string, data any) {
	st.others = append(st.others, otherRow{seq: st.seq, kind: kind, data: data})
}

// problem: as catalogTx.problem.
func (st *stager) problem(entity string, line int, what string, err error) error {
	if _, ok := crm.AsFieldError(err); !ok && !errors.Is(err, errEntity) {
		return fmt.Errorf("commerceml: %s line %d: %s: %w", st.file, line, what, err)
	}
	st.counts.of(entity).Failed++
	if len(st.problems) < 1000 {
		st.problems = append(st.problems, fmt.Sprintf("%s line %d: %s: %v", st.file, line, what, err))
	}
	if len(st.skipped) < maxSkipped {
		st.skipped = append(st.skipped, SkippedItem{ID: st.cur.ID, Name: st.cur.Name, File: st.file, Line: line, Reason: fmt.Sprintf("%s: %v", what, err)})
	}
	return nil
}

// currency maps what an offer writes through the alias table.
func (st *stager) currency(code, fallback, what string) (string, error) {
	return CurrencyWith(st.aliases, code, fallback, st.isActive, what)
}

func (st *stager) catalog(id1c, name, parent1c string, line int, root bool) error {
	id1c = strings.TrimSpace(id1c)
	if id1c == "" {
		return st.problem("catalog", line, "group without <Ид>", errEntity)
	}
	id, isNew := st.catalogs[id1c], false
	if id == 0 {
		m, err := st.s.store.IDByExternal(st.ctx, store.EntityCatalog, System, id1c)
		if err != nil {
			return err
		}
		if id = m; id == 0 {
			ids, err := st.s.store.ReserveIDs(st.ctx, "catalogs", 1)
			if err != nil {
				return err
			}
			id, isNew = ids[0], true
		}
	}
	st.catalogs[id1c] = id
	if root {
		st.root = id
	}
	st.other("catalog", catalogRow{ID1C: id1c, Name: name, Parent1C: strings.TrimSpace(parent1c), ID: id, New: isNew, Root: root, Line: line})
	return nil
}

func (st *stager) goodUnit(u commerceml.Unit) error {
	key := u.Key()
	if key == "" || st.units[key] {
		return nil
	}
	st.units[key] = true
	st.other("unit", u)
	return nil
}

func (st *stager) warn(text string) {
	st.problems = addProblem(st.problems, text)
}

func (st *stager) fileName() string { return st.file }

func (st *stager) memberships(groups []string) []int64 {
	return memberships(st.catalogs, st.root, groups)
}

func (st *stager) isActive(code string) bool {
	if v, ok := st.active[code]; ok {
		return v
	}
	c, err := st.s.store.GetCurrency(st.ctx, code)
	v := err == nil && c.Active
	st.active[code] = v
	return v
}

// Lookup over committed data and what the batch has staged.

func (st *stager) ProductsByNameArticle(n, a string) ([]Named, error) {
	n, a = strings.TrimSpace(n), strings.TrimSpace(a)
	var out []Named
	if st.committedKeys.has(n, a) {
		ps, err := st.s.store.ProductsByNameArticle(st.ctx, n, a, System)
		if err != nil {
			return nil, err
		}
		out = named(ps)
		// A product the batch has linked to a good already carries its
		// 1C id, though not in committed data yet.
		for i := range out {
			if out[i].ID1C != "" {
				continue
			}
			r := st.byRecord[out[i].ID]
			if r == nil {
				if r, err = st.staged(out[i].ID); err != nil {
					return nil, err
				}
			}
			if r != nil {
				out[i].ID1C = r.New.ExternalIDs[System]
			}
		}
	}
	// The batch's staged creates: only the latest of a name and article
	// is kept in the filter, and it carries a 1C id unless its good had
	// none, so one is all MatchProduct needs to keep goods apart.
	if r := st.byKey[n+"\x00"+a]; r != nil {
		return append(out, Named{ID: r.RecordID, ID1C: r.ID1C}), nil
	}
	id, err := st.stagedCreate(st.stagedKeys[hashKey(n, a)], func(p *stagedProduct) bool { return p.New.Name == n && p.New.Article == a })
	if err != nil || id == 0 {
		return out, err
	}
	return append(out, Named{ID: id, ID1C: st.last.ID1C}), nil
}

func (st *stager) ByExternal(entity, id string) (int64, error) {
	if entity != store.EntityProduct || st.committedIDs.has(id) {
		found, err := st.s.store.IDByExternal(st.ctx, entity, System, id)
		if err != nil || found != 0 {
			return found, err
		}
	}
	switch entity {
	case store.EntityCatalog:
		return st.catalogs[id], nil
	case store.EntityProduct:
		if r := st.byID1C[id]; r != nil {
			return r.RecordID, nil
		}
		return st.stagedCreate(st.stagedIDs[hashKey(id)], func(p *stagedProduct) bool { return p.ID1C == id })
	}
	return 0, nil
}

// Services, accounts and orders are matched at the switch.
func (st *stager) ServiceByName(string) (int64, error) { return 0, nil }
func (st *stager) AccountByName(string) (int64, error) { return 0, nil }
func (st *stager) OrderByNumber(string) (int64, error) { return 0, nil }

// stagedCreate checks the product a filter found (0: none): a create an
// earlier chunk of the batch staged, that is the one sought.
func (st *stager) stagedCreate(id int64, is func(*stagedProduct) bool) (int64, error) {
	if id == 0 {
		return 0, nil
	}
	r, err := st.staged(id)
	if err != nil || r == nil || r.Op != events.Create || !is(r) {
		return 0, err
	}
	st.last = r // base asks for it next
	return id, nil
}

// A product has one row not superseded in a batch (flush supersedes the
// earlier ones in the same write that adds the later).

// base is the product id as the batch leaves it so far, to change
// further: the row staged for it (in this chunk or an earlier one), else
// the committed product.
func (st *stager) base(id int64) (*stagedProduct, error) {
	if r := st.byRecord[id]; r != nil {
		return r.clone(), nil
	}
	if r := st.last; r != nil && r.RecordID == id {
		st.last = nil
		return r, nil
	}
	r, err := st.staged(id)
	if err != nil || r != nil {
		return r, err
	}
	p, err := st.s.store.GetProduct(st.ctx, id)
	if err != nil {
		return nil, err
	}
	return &stagedProduct{RecordID: id, Op: events.Update, Old: &p, New: cloneProduct(p), Base: store.ProductStamp(p)}, nil
}

// staged is the row an earlier chunk of the batch staged for a product,
// nil if none. The rows are read a range of record ids at a time
// (aheadSpan): the offers of a catalog come in the order of its goods,
// whose products' ids were reserved in that order, so one read serves
// the next offers instead of one query each. A flush drops the range
// (it may have superseded rows of it).
func (st *stager) staged(id int64) (*stagedProduct, error) {
	if st.ahead == nil || id < st.aheadFrom || id >= st.aheadTo {
		if err := st.readAhead(id); err != nil {
			return nil, err
		}
	}
	raw, ok := st.ahead[id]
	if !ok {
		return nil, nil
	}
	r := stagedProduct{RecordID: id, Op: raw.op, ID1C: raw.id1c, Base: raw.base, prevFile: raw.file, supersedes: true}
	if err := json.Unmarshal([]byte(raw.data), &r.New); err != nil {
		return nil, fmt.Errorf("exchange: staged product %d: %w", id, err)
	}
	if raw.old != "" {
		r.Old = &crm.Product{}
		if err := json.Unmarshal([]byte(raw.old), r.Old); err != nil {
			return nil, fmt.Errorf("exchange: staged product %d: %w", id, err)
		}
	}
	if err := json.Unmarshal([]byte(raw.src), &r.Src); err != nil {
		return nil, fmt.Errorf("exchange: staged product %d: %w", id, err)
	}
	return &r, nil
}

// aheadSpan is how many record ids one read of staged rows covers.
const aheadSpan = chunkSize

// stagedRaw is a staged row as read, decoded when asked for.
type stagedRaw struct {
	op, id1c, data, old, src string
	base, file               int64
}

// readAhead reads the batch's live staged rows of record ids [from,
// from+aheadSpan).
func (st *stager) readAhead(from int64) error {
	rows, err := st.s.db.Bulk.QueryContext(st.ctx, `SELECT p.record_id, p.op, p.id1c, p.base_updated_at, s.data, s.old, s.src, p.file_id
		FROM cml_stage_products p JOIN cml_stage_src s ON s.batch_id = p.batch_id AND s.file_id = p.file_id AND s.seq = p.seq
		WHERE p.batch_id = $1 AND p.record_id >= $2 AND p.record_id < $3 AND p.superseded_by = 0`, st.e.Batch, from, from+aheadSpan)
	if err != nil {
		return fmt.Errorf("exchange: staged products from %d: %w", from, err)
	}
	defer rows.Close()
	ahead := make(map[int64]stagedRaw, aheadSpan)
	for rows.Next() {
		var id int64
		var r stagedRaw
		if err := rows.Scan(&id, &r.op, &r.id1c, &r.base, &r.data, &r.old, &r.src, &r.file); err != nil {
			return fmt.Errorf("exchange: staged products from %d: %w", from, err)
		}
		if _, dup := ahead[id]; !dup { // one live row per product; the first, as LIMIT 1 took
			ahead[id] = r
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("exchange: staged products from %d: %w", from, err)
	}
	st.ahead, st.aheadFrom, st.aheadTo = ahead, from, from+aheadSpan
	return nil
}

// put stages a row, replacing the one of the same product in the chunk.
func (st *stager) put(r *stagedProduct) {
	r.seq = st.seq
	if prev := st.byRecord[r.RecordID]; prev != nil {
		*prev = *r
		r = prev
	} else {
		st.rows = append(st.rows, r)
		st.byRecord[r.RecordID] = r
	}
	if r.Op == events.Create {
		st.byKey[r.New.Name+"\x00"+r.New.Article] = r
		st.stagedKeys.add(r.RecordID, r.New.Name, r.New.Article)
		if r.ID1C != "" {
			st.byID1C[r.ID1C] = r
			st.stagedIDs.add(r.RecordID, r.ID1C)
		}
	}
}

func (st *stager) newID() (int64, error) {
	if len(st.ids) == 0 {
		ids, err := st.s.store.ReserveIDs(st.ctx, "products", chunkSize)
		if err != nil {
			return 0, err
		}
		st.ids = ids
	}
	id := st.ids[0]
	st.ids = st.ids[1:]
	return id, nil
}

// product stages a good as the one-by-one path applies it (goods.go).
func (st *stager) product(g *commerceml.Good) error {
	what := fmt.Sprintf("product %q (article %q)", g.Name, g.Article)
	m, vat, ok, err := matchGood(st, g)
	if err != nil || !ok {
		return err
	}
	cats := st.memberships(g.GroupIDs)
	id1c := strings.TrimSpace(g.ID)
	if m.ID == 0 {
		var p crm.Product
		fillFromGood(&p, g, m, vat, cats)
		if err := p.Normalize(); err != nil {
			return st.problem("product", g.Line, what, err)
		}
		store.StampNew(&p.Meta, st.actor, st.now)
		if p.ID, err = st.newID(); err != nil {
			return err
		}
		st.put(&stagedProduct{RecordID: p.ID, Op: events.Create, ID1C: id1c, New: p, Src: stagedSrc{Good: g}})
		st.counts.of("product").Created++
		return nil
	}
	r, err := st.base(m.ID)
	if err != nil {
		return err
	}
	p := &r.New
	fillFromGood(p, g, m, vat, cats)
	if err := p.Normalize(); err != nil {
		return st.problem("product", g.Line, what, err)
	}
	if r.Op == events.Update {
		store.StampUpdate(&p.Meta, st.actor, st.now)
	}
	r.Src.Good = g
	st.put(r)
	st.counts.of("product").Updated++
	return nil
}

// offer stages the price and stock of the product an offer is for; an
// offer for no product is applied at the switch (services are matched
// there).
func (st *stager) offer(o *commerceml.Offer) error {
	if !st.chosenDone {
		c, err := ChoosePriceType(st.prices, st.priceSetting)
		if err != nil {
			return fmt.Errorf("commerceml: %s line %d: %w", st.file, o.Line, err)
		}
		st.chosen, st.chosenDone = c, true
	}
	v, err := readOffer(o, st.prices, st.chosen, st.currency)
	if err != nil {
		return st.problem("offer", o.Line, fmt.Sprintf("offer %q (article %q)", o.Name, o.Article), err)
	}
	if v.OfferID != "" {
		st.offerRows = append(st.offerRows, stagedOffer{seq: st.seq, v: v})
	}
	if v.Variant {
		// Applied at the switch to its good's product, whatever the file
		// that brought the good.
		return nil
	}
	pm, err := MatchProduct(st, v.Name, v.Article, v.ID1C)
	if err != nil {
		return err
	}
	if pm.ID == 0 {
		st.other("offer", v)
		return nil
	}
	r, err := st.base(pm.ID)
	if err != nil {
		return err
	}
	v.set(&r.New)
	if err := r.New.Normalize(); err != nil {
		return st.problem("product", v.Line, v.what(), err)
	}
	if r.Op == events.Update {
		store.StampUpdate(&r.New.Meta, st.actor, st.now)
	}
	r.Src.Offer = v
	st.put(r)
	st.counts.of("product").Updated++
	return nil
}

func sameIDs(a, b []int64) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// stageColumns are the columns of a staged product.
var stageColumns = []string{"batch_id", "file_id", "seq", "ord", "record_id", "op", "id1c", "name", "article", "unit", "price", "currency",
	"vat_rate", "vat_included", "stock", "description", "active", "search", "assigned_by_id", "created_by_id", "updated_by_id", "created_at",
	"updated_at", "base_updated_at", "ext_id", "set_cats", "cats", "changes", "slow"}

// flush writes the chunk, with the file's progress, in one short
// transaction; last marks the file staged.
func (st *stager) flush(items int64, last bool) error {
	type prepared struct {
		r                  *stagedProduct
		ext, changes, cats string
		data, old, src     []byte
		setCats, slow      bool
		vat                any
	}
	// Everything is encoded before the write begins.
	ps := make([]prepared, 0, len(st.rows))
	for _, r := range st.rows {
		p := prepared{r: r}
		var old any
		if r.Op == events.Update {
			old = *r.Old
			p.setCats = !sameIDs(r.Old.CatalogIDs, r.New.CatalogIDs)
			if x := r.New.ExternalIDs[System]; x != r.Old.ExternalIDs[System] {
				p.ext = x
			}
			o, err := json.Marshal(r.Old)
			if err != nil {
				return err
			}
			p.old = o
		} else {
			p.setCats = true
			p.ext = r.New.ExternalIDs[System]
		}
		// An id a record in the recycle bin holds: the one-by-one path
		// deals with it as a fresh import does.
		p.slow = p.ext != "" && st.committedIDs.has(p.ext)
		ch, err := events.Diff(old, r.New)
		if err != nil {
			return err
		}
		if r.Op == events.Create || len(ch) > 0 {
			b, err := json.Marshal(ch)
			if err != nil {
				return err
			}
			p.changes = string(b)
		}
		if p.data, err = json.Marshal(r.New); err != nil {
			return err
		}
		if p.src, err = json.Marshal(r.Src); err != nil {
			return err
		}
		var cats strings.Builder
		cats.WriteString(",")
		for _, c := range r.New.CatalogIDs {
			cats.WriteString(strconv.FormatInt(c, 10) + ",")
		}
		p.cats = cats.String()
		if r.New.VATRate != nil {
			p.vat = int64(*r.New.VATRate)
		}
		ps = append(ps, p)
	}
	others := make([][]byte, len(st.others))
	for i, o := range st.others {
		b, err := json.Marshal(o.data)
		if err != nil {
			return err
		}
		others[i] = b
	}
	counts, _ := json.Marshal(st.counts)
	problems, _ := json.Marshal(st.problems)
	skipped, _ := json.Marshal(st.skipped)
	if st.skipped == nil {
		skipped = []byte("[]")
	}
	offers, err := prepareOffers(st.offerRows)
	if err != nil {
		return err
	}
	if st.problems == nil {
		problems = []byte("[]")
	}
	stage := StageStaging
	if last {
		stage = StageStaged
	}
	batch, file := st.e.Batch, st.e.ID
	sqlite := st.s.db.Dialect == db.SQLite
	err = st.s.write(st.ctx, func(ctx context.Context, tx *sql.Tx) error {
		// Rows staged for the same products by earlier chunks stay
		// behind the new ones: marked before those are written.
		for _, p := range ps {
			r := p.r
			if !r.supersedes {
				continue
			}
			if _, err := tx.ExecContext(ctx, "UPDATE cml_stage_products SET superseded_by = $1 WHERE batch_id = $2 AND record_id = $3 AND superseded_by = 0",
				file, batch, r.RecordID); err != nil {
				return err
			}
			if r.prevFile == file {
				if _, err := tx.ExecContext(ctx, "DELETE FROM cml_stage_items WHERE batch_id = $1 AND record_id = $2", batch, r.RecordID); err != nil {
					return err
				}
			}
		}
		ins := newMultiInsert(ctx, tx, sqlite, "cml_stage_products", stageColumns, "")
		item := newMultiInsert(ctx, tx, sqlite, "cml_stage_items", []string{"batch_id", "record_id", "catalog_id"}, " ON CONFLICT DO NOTHING")
		src := newMultiInsert(ctx, tx, sqlite, "cml_stage_src", []string{"batch_id", "file_id", "seq", "data", "old", "src"}, "")
		for _, p := range ps {
			r := p.r
			n := r.New
			if err := ins.add(batch, file, r.seq, file<<32|r.seq, r.RecordID, r.Op, r.ID1C, n.Name, n.Article, n.Unit,
				int64(n.Price), n.Currency, p.vat, n.VATIncluded, int64(n.Stock), n.Description, n.Active, n.SearchText(),
				n.AssignedByID, n.CreatedByID, n.UpdatedByID, n.CreatedAt.UnixMicro(), n.UpdatedAt.UnixMicro(), r.Base, p.ext, p.setCats,
				p.cats, p.changes, p.slow); err != nil {
				return fmt.Errorf("stage products: %w", err)
			}
			if err := src.add(batch, file, r.seq, string(p.data), string(p.old), string(p.src)); err != nil {
				return fmt.Errorf("stage products: %w", err)
			}
			if p.setCats {
				for _, c := range n.CatalogIDs {
					if err := item.add(batch, r.RecordID, c); err != nil {
						return fmt.Errorf("stage catalog memberships: %w", err)
					}
				}
			}
		}
		for _, m := range []*multiInsert{ins, src, item} {
			if err := m.flush(); err != nil {
				return fmt.Errorf("stage products: %w", err)
			}
		}
		for i, o := range st.others {
			if _, err := tx.ExecContext(ctx, "INSERT INTO cml_stage_other (batch_id, file_id, seq, kind, data) VALUES ($1, $2, $3, $4, $5)",
				batch, file, o.seq, o.kind, string(others[i])); err != nil {
				return err
			}
		}
		if err := stageOffers(ctx, tx, sqlite, batch, file, offers); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE cml_exchanges SET staged_items = $1, counts = $2, problems = $3, stage = $4, full_catalog = $5, skipped = $6 WHERE id = $7",
			items, string(counts), string(problems), stage, st.full, string(skipped), file)
		return err
	})
	if err != nil {
		return fmt.Errorf("exchange: staging %s: %w", st.file, err)
	}
	st.rows, st.others, st.offerRows, st.pending = st.rows[:0], st.others[:0], st.offerRows[:0], 0
	st.ahead = nil // the chunk may have superseded rows it held
	st.byRecord, st.byKey, st.byID1C = map[int64]*stagedProduct{}, map[string]*stagedProduct{}, map[string]*stagedProduct{}
	return nil
}

// readAhead reads the document's entities in a goroutine of their own, a
// few hundred ahead: decoding XML takes as long as staging what it
// holds, and the two then run side by side. stop ends the reading (and
// waits for it) when the caller is done, early or not.
func readAhead(rd *commerceml.Reader) (next func() (any, error), stop func()) {
	type item struct {
		v   any
		err error
	}
	ch := make(chan item, 256)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			v, err := rd.Next()
			select {
			case ch <- item{v, err}:
			case <-quit:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	next = func() (any, error) {
		it, ok := <-ch
		if !ok {
			return nil, io.EOF
		}
		return it.v, it.err
	}
	stop = func() {
		close(quit)
		<-done
	}
	return next, stop
}
