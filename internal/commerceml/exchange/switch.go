package exchange

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"github.com/obmen/obmen/internal/commerceml"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// The switch applies a staged batch (an import.xml with the offers.xml of
// its package, or one file) in one write:
//
//  1. units, catalogs and services, one by one with the rules of a fresh
//     import (there are few); a catalog matched when staged and gone
//     since is created anew, and the products staged into it are
//     applied one by one (step 3);
//  2. staged products that no longer apply as staged are marked
//     (store.MarkStaleProducts): a create whose name and article a user
//     has given a product since, or whose 1C id another record now
//     holds; an update of a product changed or deleted since;
//  3. those are applied one by one from what 1C sent, as a fresh import
//     would: matched again, updated or created;
//  4. all the others in a few set-based statements (store.ApplyProducts),
//     with their change events;
//  5. offers of services; variants, prices per type and stocks per
//     warehouse, set-based, writing only the rows that differ, with an
//     update event for each product whose offers changed something
//     (applyOffers); the deactivation of mode=deactivate;
//  6. the journal entries of the batch's files, in the same transaction:
//     after a restart a switched batch is never switched again.
//
// All of it is one transaction: a reader sees the catalog as it was or
// as the batch leaves it, never a mix, and a crash in the middle leaves
// the batch staged, switched in whole by 1C's next call or the sweeper.
// The price is that the switch holds the writer throughout (other writes
// wait for it): the benchmark reports how long (s-switch, and each step).

var errSwitched = errors.New("batch already switched")

// batchFiles are the journal entries of a batch's files.
func (s *Service) batchFiles(ctx context.Context, batch int64) ([]Entry, error) {
	return s.queryEntries(ctx, "WHERE batch_id = $1 ORDER BY id", batch)
}

// switchBatch switches a staged batch in; a batch switched already, or
// with a file still staging, is left alone. deactivate: mode=deactivate
// asked for the goods a full catalog no longer has to be made inactive.
// note is added to the entries' problems.
func (s *Service) switchBatch(ctx context.Context, batch int64, sess session, set Settings, deactivate bool, note string) error {
	s.switchMu.Lock()
	defer s.switchMu.Unlock()
	files, err := s.batchFiles(ctx, batch)
	if err != nil {
		return err
	}
	var staged []Entry
	full := false
	for _, f := range files {
		switch f.Stage {
		case StageStaging:
			return nil // its own run switches the batch when done
		case StageStaged:
			staged = append(staged, f)
			if f.ID == batch && f.full {
				full = true
			}
		}
	}
	if len(staged) == 0 {
		return nil
	}
	counts := map[int64]Counts{}
	problems := map[int64][]string{}
	for _, f := range staged {
		counts[f.ID] = Counts{}
		problems[f.ID] = f.Problems
		if note != "" {
			problems[f.ID] = append(problems[f.ID], note)
		}
	}
	began := time.Now()
	steps := newStepTimer()
	err = s.store.Write(ctx, actor(sess, set), func(t *store.Tx) error {
		t0 := time.Now()
		defer s.noteHold(t0)
		res, err := t.Exec("UPDATE cml_exchanges SET stage = $1 WHERE batch_id = $2 AND stage = $3", StageSwitched, batch, StageStaged)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errSwitched
		}
		c := &catalogTx{t: t, catalogs: map[string]int64{}, units: map[string]bool{}, active: map[string]bool{},
			prices: map[string]*commerceml.PriceType{}, steps: steps}
		steps.done("begin")
		at := func(file int64) {
			if _, ok := counts[file]; !ok {
				// The batch's own file was switched before (1C sent
				// offers.xml after import.xml had gone in): what the
				// batch as a whole does is counted to its last file now.
				file = staged[len(staged)-1].ID
			}
			c.counts = counts[file]
			c.file = ""
			for _, f := range staged {
				if f.ID == file {
					c.file = filepath.Base(f.Filename)
				}
			}
		}
		// 1. Units, catalogs, services.
		others, err := loadOthers(t, batch, "kind <> 'offer'")
		if err != nil {
			return err
		}
		changed := map[int64]bool{}
		names := map[int64]string{}
		for _, o := range others {
			at(o.file)
			before := len(c.problems)
			if err := c.replay(o, changed); err != nil {
				return err
			}
			problems[o.file] = append(problems[o.file], c.problems[before:]...)
		}
		steps.done("units, catalogs, services")
		// 2. What no longer applies as staged.
		for id := range changed {
			if _, err := t.Exec(`UPDATE cml_stage_products SET slow = TRUE WHERE batch_id = $1 AND superseded_by = 0
				AND record_id IN (SELECT record_id FROM cml_stage_items WHERE batch_id = $1 AND catalog_id = $2)`, batch, id); err != nil {
				return err
			}
		}
		pb := store.ProductBatch{Table: "cml_stage_products", Items: "cml_stage_items", Batch: batch, System: System, Filter: "superseded_by = 0"}
		since := staged[0].StartedAt.UnixMicro()
		for _, f := range staged {
			since = min(since, f.StartedAt.UnixMicro())
		}
		if _, err := t.MarkStaleProducts(pb, "slow", since); err != nil {
			return err
		}
		steps.done("stale check")
		// 3. One by one.
		for _, f := range staged {
			names[f.ID] = filepath.Base(f.Filename)
		}
		if err := s.applySlow(t, c, batch, names, problems); err != nil {
			return err
		}
		steps.done("one by one")
		// 4. Set-based.
		pb.Filter = "superseded_by = 0 AND NOT slow"
		if _, _, err := t.ApplyProducts(pb); err != nil {
			return err
		}
		steps.done("products")
		// 5. Offers of services; deactivation.
		if others, err = loadOthers(t, batch, "kind = 'offer'"); err != nil {
			return err
		}
		for _, o := range others {
			at(o.file)
			before := len(c.problems)
			if err := c.replay(o, changed); err != nil {
				return err
			}
			problems[o.file] = append(problems[o.file], c.problems[before:]...)
		}
		// Variants, prices per type, stock per warehouse.
		at(batch)
		vc, vu, vskipped, err := c.applyOffers(batch, s.now().UnixMicro())
		if err != nil {
			return err
		}
		c.counts.of("variant").Created += int(vc)
		c.counts.of("variant").Updated += int(vu)
		for _, it := range vskipped {
			var file int64
			fmt.Sscan(it.File, &file)
			it.File = names[file]
			c.counts.of("variant").Skipped++
			c.skipped = append(c.skipped, it)
		}
		if deactivate && full {
			at(batch)
			if err := c.deactivate(batch); err != nil {
				return err
			}
		}
		steps.done("deactivation")
		// 6. The journal.
		skipped := map[int64][]SkippedItem{}
		for _, it := range c.skipped {
			for _, f := range staged {
				if filepath.Base(f.Filename) == it.File {
					skipped[f.ID] = append(skipped[f.ID], it)
					break
				}
			}
		}
		for _, f := range staged {
			total := addCounts(f.Counts, counts[f.ID])
			_, err := t.Exec(finishSQL, finishArgs(f.ID, StatusSuccess, s.now(), total, problems[f.ID], "")...)
			if err != nil {
				return err
			}
			items := append(slices.Clone(f.Skipped), skipped[f.ID]...)
			if len(items) > maxSkipped {
				items = items[:maxSkipped]
			}
			partly := len(items) > 0
			for _, n := range total {
				partly = partly || n.Failed > 0 || n.Skipped > 0
			}
			if _, err := t.Exec("UPDATE cml_exchanges SET skipped = $1, partly_failed = $2 WHERE id = $3", mustJSON(orEmpty(items)), partly, f.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errSwitched) {
		return nil
	}
	if err != nil {
		return err
	}
	took := time.Since(began)
	steps.done("commit")
	s.lastSwitch.Store(int64(took))
	s.lastSteps.Store(steps.String())
	s.log.Info("exchange: catalog switched in", "batch", batch, "files", len(staged), "took", took, "steps", steps.String())
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

// applySlow applies the marked rows one by one, in chunks read from the
// staging table; the row is pointed at the product it applied to.
func (s *Service) applySlow(t *store.Tx, c *catalogTx, batch int64, names map[int64]string, problems map[int64][]string) error {
	type slow struct {
		file, seq int64
		src       stagedSrc
	}
	var lastFile, lastSeq int64
	for {
		rows, err := t.Query(`SELECT p.file_id, p.seq, s.src FROM cml_stage_products p
			JOIN cml_stage_src s ON s.batch_id = p.batch_id AND s.file_id = p.file_id AND s.seq = p.seq
			WHERE p.batch_id = $1 AND p.superseded_by = 0 AND p.slow
			AND (p.file_id > $2 OR (p.file_id = $2 AND p.seq > $3)) ORDER BY p.file_id, p.seq LIMIT 500`, batch, lastFile, lastSeq)
		if err != nil {
			return fmt.Errorf("exchange: staged products: %w", err)
		}
		var chunk []slow
		for rows.Next() {
			var r slow
			var src string
			if err := rows.Scan(&r.file, &r.seq, &src); err != nil {
				rows.Close()
				return err
			}
			if err := json.Unmarshal([]byte(src), &r.src); err != nil {
				rows.Close()
				return err
			}
			chunk = append(chunk, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(chunk) == 0 {
			return nil
		}
		for _, r := range chunk {
			// Counted when staged: the counts of this pass are not kept.
			c.counts, c.file = Counts{}, names[r.file]
			before := len(c.problems)
			c.lastID = 0
			if r.src.Good != nil {
				if err := c.product(r.src.Good); err != nil {
					return err
				}
			}
			if r.src.Offer != nil {
				if err := c.applyOffer(r.src.Offer); err != nil {
					return err
				}
			}
			problems[r.file] = append(problems[r.file], c.problems[before:]...)
			if c.lastID != 0 {
				if _, err := t.Exec("UPDATE cml_stage_products SET record_id = $1 WHERE batch_id = $2 AND file_id = $3 AND seq = $4",
					c.lastID, batch, r.file, r.seq); err != nil {
					return err
				}
			}
			lastFile, lastSeq = r.file, r.seq
		}
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
		if _, err := tx.ExecContext(ctx, "UPDATE cml_exchanges SET stage = $1 WHERE id = $2 AND stage <> ''", StageDiscarded, e.ID); err != nil {
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
	bs, err := s.sessionBatches(ctx, sess.ID, "stage = 'staged'")
	if err == nil {
		for _, b := range bs {
			if err = s.switchBatch(ctx, b.ID, sess, set, false, ""); err != nil {
				s.discardBatch(context.WithoutCancel(ctx), b.ID, err)
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
		case StageStaged:
			if err = s.switchBatch(ctx, b.ID, sess, set, true, ""); err != nil {
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

func orEmpty(items []SkippedItem) []SkippedItem {
	if items == nil {
		return []SkippedItem{}
	}
	return items
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
			s.discard(ctx, f, "switching the staged catalog in failed: "+cause.Error())
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
	rows, err := s.db.Read.QueryContext(ctx, `SELECT id, session_id, stage FROM cml_exchanges WHERE type = 'catalog' AND started_at < $1
		AND ((batch_id = id AND stage IN ('staged', 'switched', 'discarded')) OR (stage = 'staging' AND started_at < $2))`,
		cutoff, s.now().Add(-sessionTTL).UnixMicro())
	if err != nil {
		return fmt.Errorf("exchange: sweep: %w", err)
	}
	var olds []old
	for rows.Next() {
		var o old
		if err := rows.Scan(&o.id, &o.session, &o.stage); err == nil {
			olds = append(olds, o)
		}
	}
	rows.Close()
	for _, o := range olds {
		switch o.stage {
		case StageStaged:
			if err := s.switchBatch(ctx, o.id, s.sessionOf(ctx, o.session), set, false,
				"switched in by the sweeper: 1C did not import the rest of the package nor call mode=complete"); err != nil {
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
