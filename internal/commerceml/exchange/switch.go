package exchange

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/obmen/obmen/internal/commerceml"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// The switch applies a staged batch (an import.xml with the offers.xml of
// its package, or one file) in a series of short writes, so that other
// writers (web-form leads, the API, intake) never wait long for a whole
// catalog:
//
//  1. begin: the batch's files become "switching"; units, catalogs and
//     services one by one with the rules of a fresh import (there are
//     few); a catalog matched when staged and
//     gone since is created anew, and the products staged into it are
//     marked to go one by one;
//  2. products, switchChunk staged rows per write in the order of the
//     files and their entities: the rows that no longer apply as staged
//     are marked (markStale: a create whose name and article a user has
//     given a product since, or whose 1C id another record now holds; an
//     update of a product changed or deleted since) and applied one by
//     one from what 1C sent, as a fresh import would; all the others in a
//     few set-based statements (store.ApplyProducts), with their events;
//  3. offers: of services, and the few the staging found no product
//     for, one by one; then switchChunk goods per write in the order of
//     their 1C ids:
//     variants, prices per type and stocks per warehouse, set-based,
//     writing only the rows that differ, with an update event for each
//     product whose offers changed something (applyOffers);
//  4. finish: the deactivation of mode=deactivate, and the journal
//     entries of the batch's files.
//
// Each write records where the next begins (switch_at of the batch's
// entry) and adds what it counted, refused and skipped to the journal
// entries, in its own transaction: a crash or a shutdown between two
// writes leaves the batch "switching", and 1C's next call (or the
// sweeper) goes on from there; a write is never applied twice, and the
// change events of each are written with it. Each chunk checks against
// what users changed since the staging began, as it is applied.
//
// Between two writes a reader sees the catalog part switched, as on a
// 1C→Bitrix site during its exchange: some products already as the
// batch leaves them, the others as they were, and new products before
// their offers (prices, variants, stocks) come in phase 3. The journal
// says "running" until the last write. The benchmark reports the
// longest write (s-max-write-hold) and the latency of a concurrent
// writer.

var errSwitched = errors.New("batch already switched")

// errStopped: a switch stopped between two of its writes (shutdown, or a
// test's crash); the batch stays "switching" and resumes on the next
// call.
var errStopped = errors.New("exchange: switch stopped; it goes on at the next call")

// defaultSwitchChunk is how many staged products, and goods with their
// offers, one write of the switch applies: about 0.1 s (products) to
// 0.4 s (goods with 3 variants, prices and stocks) on a quiet 2-core
// machine.
const defaultSwitchChunk = 5000

// switchPos is where a switch goes on (cml_exchanges.switch_at of the
// batch's entry): the phase, and the last staged product row (file and
// seq) or good (1C id) done.
type switchPos struct {
	Phase string `json:"phase"`
	File  int64  `json:"file,omitempty"`
	Seq   int64  `json:"seq,omitempty"`
	Good  string `json:"good,omitempty"`
}

// batchFiles are the journal entries of a batch's files.
func (s *Service) batchFiles(ctx context.Context, batch int64) ([]Entry, error) {
	return s.queryEntries(ctx, "WHERE batch_id = $1 ORDER BY id", batch)
}

// switchRun is one call's work on a batch's switch.
type switchRun struct {
	s          *Service
	batch      int64
	part       []Entry // the files switched: staged, or switching on resume
	names      map[int64]string
	since      int64 // stored form: the staging of the first file began
	full       bool
	deactivate bool
	note       string
	steps      *stepTimer
	// What begin learnt of the catalogs, for products applied one by
	// one; loaded from the staged catalogs when the switch resumes.
	catalogs map[string]int64
	root     int64
	loaded   bool
	// dir is the session's folder, where 1C's pictures are.
	dir string
}

// switchBatch switches a staged batch in, or goes on with one stopped
// half-way; a batch switched already, or with a file still staging, is
// left alone. deactivate: mode=deactivate asked for the goods a full
// catalog no longer has to be made inactive. note is added to the
// entries' problems.
func (s *Service) switchBatch(ctx context.Context, batch int64, sess session, set Settings, deactivate bool, note string) error {
	s.switchMu.Lock()
	defer s.switchMu.Unlock()
	// And one at a time across the instances on the database: a switch
	// resumed by an instance starting, mode=complete on another and the
	// offers' run on a third would otherwise apply one batch side by
	// side. The batch's stages are read under the lock.
	release, err := s.db.LockKeys(ctx, "commerceml:switch")
	if err != nil {
		return fmt.Errorf("exchange: switch of batch %d: %w", batch, err)
	}
	defer release()
	files, err := s.batchFiles(ctx, batch)
	if err != nil {
		return err
	}
	var staged, switching []Entry
	for _, f := range files {
		switch f.Stage {
		case StageStaging:
			return nil // its own run switches the batch when done
		case StageStaged:
			staged = append(staged, f)
		case StageSwitching:
			switching = append(switching, f)
		}
	}
	part := staged
	if len(switching) > 0 {
		part = switching
	}
	if len(part) == 0 {
		return nil
	}
	r := &switchRun{s: s, batch: batch, part: part, names: map[int64]string{}, since: part[0].StartedAt.UnixMicro(),
		deactivate: deactivate, note: note, steps: newStepTimer(), catalogs: map[string]int64{}}
	if sess.ID != "" {
		r.dir = s.sessionDir(sess.ID)
	}
	for _, f := range part {
		r.names[f.ID] = filepath.Base(f.Filename)
		r.since = min(r.since, f.StartedAt.UnixMicro())
		if f.ID == batch && f.full {
			r.full = true
		}
	}
	began := time.Now()
	var hold time.Duration
	writes := map[string]int{}
	for {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", errStopped, ctx.Err())
		}
		var phase string
		r.steps.skip()
		err := s.store.Write(ctx, actor(sess, set), func(t *store.Tx) error {
			t0 := time.Now()
			defer func() { hold = max(hold, time.Since(t0)); s.noteHold(t0) }()
			var err error
			phase, err = r.step(t)
			return err
		})
		if errors.Is(err, errSwitched) {
			return nil
		}
		if err != nil {
			return err
		}
		writes[phase]++
		if phase == "finish" {
			break
		}
		if s.afterChunk != nil {
			if err := s.afterChunk(ctx, phase, writes[phase]); err != nil {
				return fmt.Errorf("%w: %w", errStopped, err)
			}
		}
	}
	took := time.Since(began)
	s.lastSwitch.Store(int64(took))
	s.lastSteps.Store(fmt.Sprintf("%s; writes: %d products, %d offers, longest %v", r.steps, writes["products"], writes["offers"],
		hold.Round(time.Millisecond)))
	s.log.Info("exchange: catalog switched in", "batch", batch, "files", len(part), "took", took, "writes", writes, "longest", hold,
		"steps", r.steps.String())
	return nil
}

// step does the next write of the switch and returns its phase.
func (r *switchRun) step(t *store.Tx) (string, error) {
	var raw string
	if err := t.QueryRow("SELECT switch_at FROM cml_exchanges WHERE id = $1", r.batch).Scan(&raw); err != nil {
		return "", fmt.Errorf("exchange: switch: %w", err)
	}
	var pos switchPos
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &pos); err != nil {
			return "", fmt.Errorf("exchange: switch position %q: %w", raw, err)
		}
	}
	if pos.Phase == "" && r.part[0].Stage == StageSwitching {
		return "", errSwitched // finished by another run since read
	}
	j := newJournalDelta(r.part)
	c := &catalogTx{t: t, catalogs: r.catalogs, root: r.root, units: map[string]bool{}, active: map[string]bool{},
		prices: map[string]*commerceml.PriceType{}, steps: r.steps}
	phase := pos.Phase
	var err error
	switch pos.Phase {
	case "":
		phase = "begin"
		err = r.begin(c, j, &pos)
	case "products":
		err = r.products(c, j, &pos)
	case "offers":
		err = r.offers(c, j, &pos)
	default:
		return "", fmt.Errorf("exchange: switch position %q", raw)
	}
	if err != nil {
		return "", err
	}
	if pos.Phase == "finish" {
		phase = "finish"
		if err := r.finish(c, j); err != nil {
			return "", err
		}
		return phase, nil
	}
	next, _ := json.Marshal(pos)
	res, err := t.Exec("UPDATE cml_exchanges SET switch_at = $1 WHERE id = $2 AND switch_at = $3", string(next), r.batch, raw)
	if err != nil {
		return "", err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", errSwitched // another process went on with it
	}
	if err := j.write(t); err != nil {
		return "", err
	}
	r.steps.done("journal")
	return phase, nil
}

// at points c's counts and file at the staged file file of the batch.
func (r *switchRun) at(c *catalogTx, j *journalDelta, file int64) {
	if _, ok := j.counts[file]; !ok {
		// The batch's own file was switched before (1C sent
		// offers.xml after import.xml had gone in): what the batch as
		// a whole does is counted to its last file now.
		file = r.part[len(r.part)-1].ID
	}
	c.counts = j.counts[file]
	c.file = r.names[file]
}

// keep adds what c refused or skipped to the delta (problems of file).
func (r *switchRun) keep(c *catalogTx, j *journalDelta, file int64, before int) {
	if _, ok := j.counts[file]; !ok {
		file = r.part[len(r.part)-1].ID
	}
	j.problems[file] = append(j.problems[file], c.problems[before:]...)
}

// begin: the files become "switching"; units, catalogs, services.
func (r *switchRun) begin(c *catalogTx, j *journalDelta, pos *switchPos) error {
	t := c.t
	res, err := t.Exec("UPDATE cml_exchanges SET stage = $1 WHERE batch_id = $2 AND stage = $3", StageSwitching, r.batch, StageStaged)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errSwitched
	}
	c.steps.done("begin")
	others, err := loadOthers(t, r.batch, "kind <> 'offer'")
	if err != nil {
		return err
	}
	changed := map[int64]bool{}
	for _, o := range others {
		r.at(c, j, o.file)
		before := len(c.problems)
		if err := c.replay(o, changed); err != nil {
			return err
		}
		r.keep(c, j, o.file, before)
	}
	r.root, r.loaded = c.root, true
	// Products staged into a catalog that is gone go one by one.
	for id := range changed {
		if _, err := t.Exec(`UPDATE cml_stage_products SET slow = TRUE WHERE batch_id = $1 AND superseded_by = 0
			AND record_id IN (SELECT record_id FROM cml_stage_items WHERE batch_id = $1 AND catalog_id = $2)`, r.batch, id); err != nil {
			return err
		}
	}
	r.skipped(c, j)
	c.steps.done("units, catalogs, services")
	*pos = switchPos{Phase: "products", Seq: -1}
	return nil
}

// skipped moves the items c skipped into the delta, by file.
func (r *switchRun) skipped(c *catalogTx, j *journalDelta) {
	for _, it := range c.skipped {
		for id, name := range r.names {
			if name == it.File {
				j.skipped[id] = append(j.skipped[id], it)
				break
			}
		}
	}
	c.skipped = nil
}

// loadCatalogs finds again what begin learnt of the batch's catalogs,
// when the switch resumes after a restart.
func (r *switchRun) loadCatalogs(c *catalogTx) error {
	if r.loaded {
		return nil
	}
	others, err := loadOthers(c.t, r.batch, "kind = 'catalog'")
	if err != nil {
		return err
	}
	for _, o := range others {
		var row catalogRow
		if err := json.Unmarshal(o.data, &row); err != nil {
			return err
		}
		m, err := MatchCatalog(c, row.ID1C)
		if err != nil {
			return err
		}
		if m.ID != 0 {
			r.catalogs[row.ID1C] = m.ID
			if row.Root {
				r.root = m.ID
			}
		}
	}
	c.root, r.loaded = r.root, true
	return nil
}

// products applies the next chunk of staged products: rows of one file
// after pos.Seq.
func (r *switchRun) products(c *catalogTx, j *journalDelta, pos *switchPos) error {
	t := c.t
	file, lo, hi, ok, err := r.nextProducts(t, pos.File, pos.Seq)
	if err != nil {
		return err
	}
	if !ok {
		// Offers of services, and of goods the staging found no product
		// for (a product the one-by-one path has made since, by name and
		// article), one by one.
		others, err := loadOthers(t, r.batch, "kind = 'offer'")
		if err != nil {
			return err
		}
		for _, o := range others {
			r.at(c, j, o.file)
			before := len(c.problems)
			if err := c.replay(o, nil); err != nil {
				return err
			}
			r.keep(c, j, o.file, before)
		}
		r.skipped(c, j)
		c.steps.done("other offers")
		*pos = switchPos{Phase: "offers"}
		return nil
	}
	if err := r.loadCatalogs(c); err != nil {
		return err
	}
	chunk := fmt.Sprintf("file_id = %d AND seq > %d AND seq <= %d", file, lo, hi)
	if err := r.markStale(t, file, lo, chunk); err != nil {
		return err
	}
	c.steps.done("stale check")
	if err := r.applySlow(c, j, file, lo, hi); err != nil {
		return err
	}
	c.steps.done("one by one")
	// "+superseded_by": SQLite then reads the chunk by the table's key
	// instead of every live row of the batch by cml_stage_products_live.
	pb := store.ProductBatch{Table: "cml_stage_products", Items: "cml_stage_items", Batch: r.batch, System: System,
		Filter: "+superseded_by = 0 AND NOT slow AND " + chunk}
	if _, _, err := t.ApplyProducts(pb); err != nil {
		return err
	}
	c.steps.done("products")
	r.at(c, j, file)
	before := len(c.problems)
	if err := r.pictures(c, file, lo, hi); err != nil {
		return err
	}
	r.keep(c, j, file, before)
	c.steps.done("pictures")
	*pos = switchPos{Phase: "products", File: file, Seq: hi}
	return nil
}

// nextProducts finds the next chunk of staged product rows after (file,
// seq): rows of one file with seq in (lo, hi]; ok is false when none is
// left.
func (r *switchRun) nextProducts(t *store.Tx, file, seq int64) (f, lo, hi int64, ok bool, err error) {
	n := r.s.switchChunk
	for {
		if file != 0 {
			var last sql.NullInt64
			err := t.QueryRow(`SELECT seq FROM cml_stage_products WHERE batch_id = $1 AND file_id = $2 AND seq > $3
				ORDER BY seq LIMIT 1 OFFSET $4`, r.batch, file, seq, n-1).Scan(&last)
			if errors.Is(err, sql.ErrNoRows) {
				err = t.QueryRow("SELECT MAX(seq) FROM cml_stage_products WHERE batch_id = $1 AND file_id = $2 AND seq > $3",
					r.batch, file, seq).Scan(&last)
			}
			if err != nil {
				return 0, 0, 0, false, fmt.Errorf("exchange: switch: next products: %w", err)
			}
			if last.Valid {
				return file, seq, last.Int64, true, nil
			}
		}
		var next sql.NullInt64
		if err := t.QueryRow("SELECT MIN(file_id) FROM cml_stage_products WHERE batch_id = $1 AND file_id > $2", r.batch, file).Scan(&next); err != nil {
			return 0, 0, 0, false, fmt.Errorf("exchange: switch: next products: %w", err)
		}
		if !next.Valid {
			return 0, 0, 0, false, nil
		}
		file, seq = next.Int64, -1
	}
}

// markStale marks the rows of a chunk that may no longer apply as staged
// because of a write since the staging began: a row whose name and
// article a live product created, renamed or restored since has, or
// whose 1C id such a product now holds; an update of a product changed
// or deleted since. The products this switch applied in its earlier
// chunks are not such writes (they carry their 1C id, which matching
// respects). Each condition is read from the chunk's rows by key, so a
// chunk costs the same at the start of a catalog as at its end.
func (r *switchRun) markStale(t *store.Tx, file, lo int64, chunk string) error {
	const earlier = `NOT EXISTS (SELECT 1 FROM cml_stage_products o WHERE o.batch_id = $1 AND o.record_id = p.id
		AND (+o.file_id < $4 OR (+o.file_id = $4 AND o.seq <= $5)))`
	_, err := t.Exec(`UPDATE cml_stage_products SET slow = TRUE WHERE batch_id = $1 AND `+chunk+` AND +superseded_by = 0 AND NOT slow AND (
		EXISTS (SELECT 1 FROM products p WHERE p.name = cml_stage_products.name AND p.article = cml_stage_products.article
			AND p.deleted_at = 0 AND p.updated_at >= $2 AND `+earlier+`)
		OR (op = 'update' AND EXISTS (SELECT 1 FROM products p WHERE p.id = cml_stage_products.record_id
			AND (p.updated_at >= $2 OR p.deleted_at >= $2)))
		OR (ext_id <> '' AND EXISTS (SELECT 1 FROM external_ids x JOIN products p ON p.id = x.record_id
			WHERE x.entity = 'product' AND x.system = $3 AND x.external_id = cml_stage_products.ext_id AND p.updated_at >= $2 AND `+earlier+`)))`,
		r.batch, r.since, System, file, lo)
	if err != nil {
		return fmt.Errorf("exchange: check staged products: %w", err)
	}
	return nil
}

// offers applies the offers of the next chunk of goods.
func (r *switchRun) offers(c *catalogTx, j *journalDelta, pos *switchPos) error {
	t := c.t
	var hi sql.NullString
	err := t.QueryRow("SELECT good_id1c FROM cml_stage_goods WHERE batch_id = $1 AND good_id1c > $2 ORDER BY good_id1c LIMIT 1 OFFSET $3",
		r.batch, pos.Good, r.s.switchChunk-1).Scan(&hi)
	if errors.Is(err, sql.ErrNoRows) {
		err = t.QueryRow("SELECT MAX(good_id1c) FROM cml_stage_goods WHERE batch_id = $1 AND good_id1c > $2", r.batch, pos.Good).Scan(&hi)
	}
	if err != nil {
		return fmt.Errorf("exchange: switch: next goods: %w", err)
	}
	if !hi.Valid {
		*pos = switchPos{Phase: "finish"}
		return nil
	}
	r.at(c, j, r.batch)
	vc, vu, vskipped, err := c.applyOffers(r.batch, pos.Good, hi.String, r.s.now().UnixMicro())
	if err != nil {
		return err
	}
	c.counts.of("variant").Created += int(vc)
	c.counts.of("variant").Updated += int(vu)
	if err := r.variantPictures(c, pos.Good, hi.String); err != nil {
		return err
	}
	for _, it := range vskipped {
		var file int64
		fmt.Sscan(it.File, &file)
		it.File = r.names[file]
		c.counts.of("variant").Skipped++
		c.skipped = append(c.skipped, it)
	}
	r.skipped(c, j)
	*pos = switchPos{Phase: "offers", Good: hi.String}
	return nil
}

// finish: the deactivation, and the journal entries of the batch's
// files, which say success with all that the writes counted.
func (r *switchRun) finish(c *catalogTx, j *journalDelta) error {
	t := c.t
	if r.deactivate && r.full {
		r.at(c, j, r.batch)
		if err := c.deactivate(r.batch); err != nil {
			return err
		}
		c.steps.done("deactivation")
	}
	if r.note != "" {
		for _, f := range r.part {
			j.problems[f.ID] = append(j.problems[f.ID], r.note)
		}
	}
	if err := j.write(t); err != nil {
		return err
	}
	res, err := t.Exec("UPDATE cml_exchanges SET stage = $1 WHERE batch_id = $2 AND stage = $3", StageSwitched, r.batch, StageSwitching)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errSwitched
	}
	if _, err := t.Exec("UPDATE cml_exchanges SET switch_at = '' WHERE id = $1", r.batch); err != nil {
		return err
	}
	for _, f := range r.part {
		var counts, problems, skipped string
		if err := t.QueryRow("SELECT counts, problems, skipped FROM cml_exchanges WHERE id = $1", f.ID).Scan(&counts, &problems, &skipped); err != nil {
			return err
		}
		total, probs, items := Counts{}, []string{}, []SkippedItem{}
		_ = json.Unmarshal([]byte(counts), &total)
		_ = json.Unmarshal([]byte(problems), &probs)
		_ = json.Unmarshal([]byte(skipped), &items)
		if _, err := t.Exec(finishSQL, finishArgs(f.ID, StatusSuccess, r.s.now(), total, probs, "")...); err != nil {
			return err
		}
		partly := len(items) > 0
		for _, n := range total {
			partly = partly || n.Failed > 0 || n.Skipped > 0
		}
		if _, err := t.Exec("UPDATE cml_exchanges SET partly_failed = $1 WHERE id = $2", partly, f.ID); err != nil {
			return err
		}
	}
	c.steps.done("journal")
	return nil
}

// journalDelta is what one write of a switch adds to the journal entries
// of the batch's files: counts, problems and skipped items. It is written
// in the same transaction, so that after a crash the entries hold what
// the committed writes did, once.
type journalDelta struct {
	counts   map[int64]Counts
	problems map[int64][]string
	skipped  map[int64][]SkippedItem
}

func newJournalDelta(part []Entry) *journalDelta {
	j := &journalDelta{counts: map[int64]Counts{}, problems: map[int64][]string{}, skipped: map[int64][]SkippedItem{}}
	for _, f := range part {
		j.counts[f.ID] = Counts{}
	}
	return j
}

func (j *journalDelta) write(t *store.Tx) error {
	for id, delta := range j.counts {
		if len(delta) == 0 && len(j.problems[id]) == 0 && len(j.skipped[id]) == 0 {
			continue
		}
		var counts, problems, skipped string
		if err := t.QueryRow("SELECT counts, problems, skipped FROM cml_exchanges WHERE id = $1", id).Scan(&counts, &problems, &skipped); err != nil {
			return fmt.Errorf("exchange: journal: %w", err)
		}
		total, probs, items := Counts{}, []string{}, []SkippedItem{}
		_ = json.Unmarshal([]byte(counts), &total)
		_ = json.Unmarshal([]byte(problems), &probs)
		_ = json.Unmarshal([]byte(skipped), &items)
		total = addCounts(total, delta)
		probs = append(probs, j.problems[id]...)
		items = append(items, j.skipped[id]...)
		if len(items) > maxSkipped {
			items = items[:maxSkipped]
		}
		if _, err := t.Exec("UPDATE cml_exchanges SET counts = $1, problems = $2, skipped = $3 WHERE id = $4",
			mustJSON(total), mustJSON(probs), mustJSON(items), id); err != nil {
			return fmt.Errorf("exchange: journal: %w", err)
		}
	}
	return nil
}

func addCounts(a, b Counts) Counts {
	out := Counts{}
	for _, m := range []Counts{a, b} {
		for k, v := range m {
			c := out.of(k)
			c.Created += v.Created
			c.Updated += v.Updated
			c.Skipped += v.Skipped
			c.Failed += v.Failed
			c.Deactivated += v.Deactivated
		}
	}
	return out
}

type stagedOther struct {
	file, seq int64
	kind      string
	data      []byte
}

func loadOthers(t *store.Tx, batch int64, cond string) ([]stagedOther, error) {
	rows, err := t.Query("SELECT file_id, seq, kind, data FROM cml_stage_other WHERE batch_id = $1 AND "+cond+
		" ORDER BY file_id, seq, CASE kind WHEN 'unit' THEN 0 WHEN 'catalog' THEN 1 ELSE 2 END", batch)
	if err != nil {
		return nil, fmt.Errorf("exchange: staged rows: %w", err)
	}
	defer rows.Close()
	var out []stagedOther
	for rows.Next() {
		var o stagedOther
		var data string
		if err := rows.Scan(&o.file, &o.seq, &o.kind, &data); err != nil {
			return nil, fmt.Errorf("exchange: staged rows: %w", err)
		}
		o.data = []byte(data)
		out = append(out, o)
	}
	return out, rows.Err()
}

// replay applies one staged unit, catalog, service or service offer.
func (c *catalogTx) replay(o stagedOther, changed map[int64]bool) error {
	switch o.kind {
	case "unit":
		var u commerceml.Unit
		if err := json.Unmarshal(o.data, &u); err != nil {
			return err
		}
		return c.goodUnit(u)
	case "catalog":
		var r catalogRow
		if err := json.Unmarshal(o.data, &r); err != nil {
			return err
		}
		m, err := MatchCatalog(c, r.ID1C)
		if err != nil {
			return err
		}
		if m.ID == 0 && r.New {
			cat, err := c.t.CreateCatalogWithID(crm.Catalog{Meta: crm.Meta{ID: r.ID}, Name: r.Name, ParentID: c.catalogs[r.Parent1C],
				Extra: crm.Extra{ExternalIDs: map[string]string{System: r.ID1C}}})
			if err != nil {
				return c.problem("catalog", r.Line, fmt.Sprintf("catalog %q", r.Name), err)
			}
			c.catalogs[r.ID1C] = cat.ID
			c.counts.of("catalog").Created++
		} else if err := c.catalog(r.ID1C, r.Name, r.Parent1C, r.Line); err != nil {
			return err
		}
		if got := c.catalogs[r.ID1C]; got != r.ID {
			changed[r.ID] = true
		}
		if r.Root {
			c.root = c.catalogs[r.ID1C]
		}
		return nil
	case "service":
		var g commerceml.Good
		if err := json.Unmarshal(o.data, &g); err != nil {
			return err
		}
		c.lastID = 0
		if err := c.service(&g); err != nil {
			return err
		}
		if c.lastID != 0 {
			_, err := c.t.Exec("UPDATE cml_stage_other SET record_id = $1 WHERE file_id = $2 AND seq = $3 AND kind = 'service'", c.lastID, o.file, o.seq)
			return err
		}
		return nil
	case "offer":
		var v offerVals
		if err := json.Unmarshal(o.data, &v); err != nil {
			return err
		}
		return c.applyOffer(&v)
	}
	return fmt.Errorf("exchange: staged row of unknown kind %q", o.kind)
}

// applySlow applies the marked rows of a chunk (file's rows with seq in
// (lo, hi]) one by one, read from the staging table 500 at a time; the
// row is pointed at the product it applied to.
func (r *switchRun) applySlow(c *catalogTx, j *journalDelta, file, lo, hi int64) error {
	t := c.t
	type slow struct {
		seq int64
		src stagedSrc
	}
	last := lo
	for {
		rows, err := t.Query(`SELECT p.seq, s.src FROM cml_stage_products p
			JOIN cml_stage_src s ON s.batch_id = p.batch_id AND s.file_id = p.file_id AND s.seq = p.seq
			WHERE p.batch_id = $1 AND p.file_id = $2 AND p.seq > $3 AND p.seq <= $4 AND +p.superseded_by = 0 AND p.slow
			ORDER BY p.seq LIMIT 500`, r.batch, file, last, hi)
		if err != nil {
			return fmt.Errorf("exchange: staged products: %w", err)
		}
		var chunk []slow
		for rows.Next() {
			var row slow
			var src string
			if err := rows.Scan(&row.seq, &src); err != nil {
				rows.Close()
				return err
			}
			if err := json.Unmarshal([]byte(src), &row.src); err != nil {
				rows.Close()
				return err
			}
			chunk = append(chunk, row)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(chunk) == 0 {
			return nil
		}
		for _, row := range chunk {
			// Counted when staged: the counts of this pass are not kept.
			c.counts, c.file = Counts{}, r.names[file]
			before := len(c.problems)
			c.lastID = 0
			if row.src.Good != nil {
				if err := c.product(row.src.Good); err != nil {
					return err
				}
			}
			if row.src.Offer != nil {
				if err := c.applyOffer(row.src.Offer); err != nil {
					return err
				}
			}
			r.keep(c, j, file, before)
			if c.lastID != 0 {
				if _, err := t.Exec("UPDATE cml_stage_products SET record_id = $1 WHERE batch_id = $2 AND file_id = $3 AND seq = $4",
					c.lastID, r.batch, file, row.seq); err != nil {
					return err
				}
			}
			last = row.seq
		}
		r.skipped(c, j)
	}
}

// deactivate makes inactive the products and services with a 1C id that
// the batch's full catalog does not have.
func (c *catalogTx) deactivate(batch int64) error {
	n, err := c.t.DeactivateProducts(System, "SELECT record_id FROM cml_stage_products WHERE batch_id = $1", batch)
	if err != nil {
		return err
	}
	c.counts.of("product").Deactivated += int(n)
	ids, err := c.t.ServiceIDsWithExternal(System)
	if err != nil {
		return err
	}
	keep := map[int64]bool{}
	rows, err := c.t.Query("SELECT record_id FROM cml_stage_other WHERE batch_id = $1 AND kind = 'service'", batch)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		keep[id] = true
	}
	rows.Close()
	for _, id := range ids {
		if keep[id] {
			continue
		}
		if _, err := c.t.UpdateService(id, func(v *crm.Service) error { v.Active = false; return nil }); err != nil {
			return err
		}
		c.counts.of("service").Deactivated++
	}
	_, err = c.t.Exec("UPDATE cml_exchanges SET deactivated = TRUE WHERE id = $1", batch)
	return err
}

// discard drops what a file staged after it failed, journals the failure
// and, for an offers.xml staged into its import.xml's batch, lets that
// batch switch without it.
func (s *Service) discard(ctx context.Context, e Entry, errText string) {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if e.Batch != 0 {
			for _, q := range []string{
				"DELETE FROM cml_stage_products WHERE batch_id = $1 AND file_id = $2",
				"DELETE FROM cml_stage_src WHERE batch_id = $1 AND file_id = $2",
				"UPDATE cml_stage_products SET superseded_by = 0 WHERE batch_id = $1 AND superseded_by = $2",
				"DELETE FROM cml_stage_other WHERE batch_id = $1 AND file_id = $2",
				"DELETE FROM cml_stage_offers WHERE batch_id = $1 AND file_id = $2",
				"DELETE FROM cml_stage_offer_prices WHERE batch_id = $1 AND file_id = $2",
				"DELETE FROM cml_stage_offer_stocks WHERE batch_id = $1 AND file_id = $2",
				"DELETE FROM cml_stage_items WHERE batch_id = $1 AND batch_id = $2",
			} {
				if _, err := tx.ExecContext(ctx, q, e.Batch, e.ID); err != nil {
					return err
				}
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE cml_exchanges SET stage = $1, switch_at = '' WHERE id = $2 AND stage <> ''", StageDiscarded, e.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, finishSQL, finishArgs(e.ID, StatusFailure, s.now(), nil, nil, errText)...)
		return err
	})
	if err != nil {
		s.log.Error("exchange: journal", "err", err)
	}
}

// sessionOf reads the session an entry was made in (for the actor of a
// switch not started by 1C's call).
func (s *Service) sessionOf(ctx context.Context, id string) session {
	sess := session{ID: id}
	_ = s.db.Read.QueryRowContext(ctx, "SELECT user_id FROM cml_sessions WHERE id = $1", id).Scan(&sess.UserID)
	return sess
}

// pending are the batches of a session that are staged and not switched.
func (s *Service) sessionBatches(ctx context.Context, sessionID, cond string) ([]Entry, error) {
	return s.queryEntries(ctx, "WHERE session_id = $1 AND type = 'catalog' AND batch_id = id AND "+cond+" ORDER BY id", sessionID)
}

// complete (mode=complete) switches what the session left staged and
// drops the session's staged rows.
func (s *Service) complete(w http.ResponseWriter, r *http.Request, sess session, set Settings) {
	ctx := r.Context()
	bs, err := s.sessionBatches(ctx, sess.ID, "stage IN ('staged', 'switching')")
	if err == nil {
		for _, b := range bs {
			if err = s.switchBatch(ctx, b.ID, sess, set, false, ""); err != nil {
				if !errors.Is(err, errStopped) {
					s.discardBatch(context.WithoutCancel(ctx), b.ID, err)
				}
				break
			}
		}
	}
	if err != nil {
		s.log.Error("exchange: complete", "err", err)
		fail(w, "switching the staged catalog in failed: "+err.Error())
		return
	}
	bs, err = s.sessionBatches(ctx, sess.ID, "stage IN ('switched', 'discarded')")
	if err == nil {
		for _, b := range bs {
			if err = s.dropStaged(ctx, b.ID); err != nil {
				break
			}
		}
	}
	if err != nil {
		s.log.Warn("exchange: complete: dropping staged rows", "err", err)
	}
	answer(w, "success")
}

// deactivateMode (mode=deactivate, after a full catalog) makes inactive
// the goods with a 1C id the session's full catalog does not have: in the
// switch when the batch still waits for it, else in a write of its own.
func (s *Service) deactivateMode(w http.ResponseWriter, r *http.Request, sess session, set Settings) {
	ctx := r.Context()
	bs, err := s.sessionBatches(ctx, sess.ID, "full_catalog AND NOT deactivated AND status <> 'failure'")
	for _, b := range bs {
		if err != nil {
			break
		}
		switch b.Stage {
		case StageStaging:
			answer(w, "progress", b.Filename+": still being imported")
			return
		case StageStaged, StageSwitching:
			if err = s.switchBatch(ctx, b.ID, sess, set, true, ""); err != nil && !errors.Is(err, errStopped) {
				s.discardBatch(context.WithoutCancel(ctx), b.ID, err)
			}
		case StageSwitched:
			err = s.store.Write(ctx, actor(sess, set), func(t *store.Tx) error {
				t0 := time.Now()
				defer s.noteHold(t0)
				c := &catalogTx{t: t, counts: b.Counts}
				if err := c.deactivate(b.ID); err != nil {
					return err
				}
				_, err := t.Exec("UPDATE cml_exchanges SET counts = $1 WHERE id = $2", mustJSON(c.counts), b.ID)
				return err
			})
		}
	}
	if err != nil {
		s.log.Error("exchange: deactivate", "err", err)
		fail(w, "deactivation failed: "+err.Error())
		return
	}
	answer(w, "success")
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// discardBatch journals a batch whose switch failed and drops its rows.
func (s *Service) discardBatch(ctx context.Context, batch int64, cause error) {
	files, err := s.batchFiles(ctx, batch)
	if err != nil {
		s.log.Error("exchange: journal", "err", err)
		return
	}
	for _, f := range files {
		if f.Status == StatusRunning {
			s.discard(ctx, f, "switching the staged catalog in failed (what its earlier writes applied stays): "+cause.Error())
		}
	}
	if err := s.dropStaged(ctx, batch); err != nil {
		s.log.Error("exchange: dropping staged rows", "err", err)
	}
}

// dropStaged deletes a batch's staged rows, a few thousand per write,
// in the order of each table's key (a sort of the whole table for each
// few thousand took minutes for a catalog of 100,000 goods).
func (s *Service) dropStaged(ctx context.Context, batch int64) error {
	for _, table := range []string{"cml_stage_products", "cml_stage_src", "cml_stage_items", "cml_stage_other", "cml_stage_offers",
		"cml_stage_offer_prices", "cml_stage_offer_stocks", "cml_stage_goods"} {
		key := "file_id, seq"
		switch table {
		case "cml_stage_items":
			key = "record_id"
		case "cml_stage_goods":
			key = "good_id1c"
		}
		for {
			var n int64
			err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				res, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE batch_id = $1 AND ("+key+") IN (SELECT "+key+" FROM "+table+
					" WHERE batch_id = $1 ORDER BY "+key+" LIMIT 5000)", batch)
				if err == nil {
					n, err = res.RowsAffected()
				}
				return err
			})
			if err != nil {
				return fmt.Errorf("exchange: drop staged rows: %w", err)
			}
			if n == 0 {
				break
			}
		}
	}
	return nil
}

// sweepStaged: a batch staged and left waiting (1C never imported the
// offers it uploaded, nor sent mode=complete) is switched in after
// stagedWait, not discarded: its import.xml was answered success, and
// what Obmen accepts is never lost. A file left half-staged by a session
// that has expired is discarded with a journal entry: 1C was never told
// it succeeded and sends the catalog again. Staged rows of batches done
// with are dropped.
func (s *Service) sweepStaged(ctx context.Context, set Settings) error {
	cutoff := s.now().Add(-stagedWait).UnixMicro()
	type old struct {
		id      int64
		session string
		stage   string
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT id, session_id, stage, switch_at FROM cml_exchanges WHERE type = 'catalog' AND ((started_at < $1
		AND ((batch_id = id AND stage IN ('staged', 'switched', 'discarded')) OR (stage = 'staging' AND started_at < $2)))
		OR (batch_id = id AND switch_at <> ''))`,
		cutoff, s.now().Add(-sessionTTL).UnixMicro())
	if err != nil {
		return fmt.Errorf("exchange: sweep: %w", err)
	}
	var olds []old
	for rows.Next() {
		var o old
		var at string
		if err := rows.Scan(&o.id, &o.session, &o.stage, &at); err == nil {
			if at != "" {
				// A switch stopped half-way (its batch's own file may be
				// switched already, with offers.xml switching).
				o.stage = StageSwitching
			}
			olds = append(olds, o)
		}
	}
	rows.Close()
	for _, o := range olds {
		switch o.stage {
		case StageStaged, StageSwitching:
			note := "switched in by the sweeper: 1C did not import the rest of the package nor call mode=complete"
			if o.stage == StageSwitching {
				// Stopped half-way (a restart): it goes on now, whether
				// 1C calls again or not.
				note = ""
			}
			if err := s.switchBatch(ctx, o.id, s.sessionOf(ctx, o.session), set, false, note); err != nil {
				if errors.Is(err, errStopped) {
					return err
				}
				s.discardBatch(ctx, o.id, err)
			}
			if err := s.dropStaged(ctx, o.id); err != nil {
				return err
			}
		case StageStaging:
			s.mu.Lock()
			_, running := s.runs[o.id]
			s.mu.Unlock()
			if !running {
				e, err := s.GetEntry(ctx, o.id)
				if err != nil {
					return err
				}
				s.discard(ctx, e, "abandoned: 1C's session expired before "+e.Filename+" was imported; nothing of it was applied")
				if e.Batch == e.ID {
					if err := s.dropStaged(ctx, e.ID); err != nil {
						return err
					}
				}
			}
		default:
			if err := s.dropStaged(ctx, o.id); err != nil {
				return err
			}
		}
	}
	return nil
}

// stagedWait is how long a staged batch may wait for the rest of its
// package before the sweeper switches it in.
const stagedWait = time.Hour
