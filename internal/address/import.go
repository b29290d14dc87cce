package address

import (
	"archive/zip"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/db"
)

// Importer loads a ГАР dump (the official zip or its unpacked folder), a
// full one or a delta, into the database.
type Importer struct {
	DB  *db.DB
	Log *slog.Logger
	// Regions, when not empty, limits the import to these region codes
	// (the dump's folder names: 77 Москва, 16 Татарстан …).
	Regions []int
	// Batch is how many records share a transaction (default 2000).
	Batch int
	// Progress, when set, is called after each batch with the file and
	// how far into it the import is.
	Progress func(p Progress)
	// Now gives "today" for parameters' validity (default time.Now).
	Now func() time.Time
}

// Progress is where an import is.
type Progress struct {
	File       string
	FileIndex  int // 1-based
	Files      int
	Records    int64 // records of File read so far
	Bytes      int64 // bytes of File read so far
	Size       int64 // File's size, 0 if unknown
	Resumed    int64 // records skipped as applied by an earlier run
	Done       bool  // File finished
	AlreadyRan bool  // File was finished by an earlier run
}

// Stats sums up an import.
type Stats struct {
	Files   int
	Skipped int   // files an earlier run finished
	Records int64 // records read (all, including the ones not kept)
	Kept    int64 // records applied (active and actual)
}

// source is one file to import.
type source struct {
	name   string // path inside the dump, "/"-separated
	kind   fileKind
	region int
	size   int64
	open   func() (io.ReadCloser, error)
}

// Import reads the dump at path and applies it. A rerun after a crash
// continues each file after the records already committed; files finished
// by an earlier run are skipped.
func (im *Importer) Import(ctx context.Context, path string) (Stats, error) {
	srcs, closer, err := im.sources(path)
	if err != nil {
		return Stats{}, err
	}
	defer closer()
	if len(srcs) == 0 {
		return Stats{}, fmt.Errorf("address: %s: no ГАР files (AS_ADDR_OBJ_*.XML, AS_HOUSES_*.XML … in region folders) for the regions asked", path)
	}
	var st Stats
	for i, s := range srcs {
		if err := im.importFile(ctx, s, i+1, len(srcs), &st); err != nil {
			return st, err
		}
	}
	if st.Skipped < st.Files {
		if err := Analyze(ctx, im.DB); err != nil {
			return st, err
		}
	}
	return st, nil
}

// Analyze refreshes the planner's statistics of the address tables, so
// that after an import (which changes their sizes by millions of rows)
// each engine picks the suggest queries' indexes from real figures. On
// SQLite analysis_limit keeps it to a sample of each index, so that the
// write lock it holds is short.
func Analyze(ctx context.Context, d *db.DB) error {
	err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		stmts := []string{`ANALYZE address_objects, address_keys`}
		if d.Dialect == db.SQLite {
			stmts = []string{`PRAGMA analysis_limit = 2000`, `ANALYZE address_objects`, `ANALYZE address_keys`, `PRAGMA analysis_limit = 0`}
		}
		for _, q := range stmts {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("address: statistics after the import: %w", err)
	}
	return nil
}

// sources lists the files of the dump to import, in import order: by
// region, then objects, houses, hierarchy, parameters, then name.
func (im *Importer) sources(path string) ([]source, func(), error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("address: %w", err)
	}
	var out []source
	closer := func() {}
	add := func(name string, size int64, open func() (io.ReadCloser, error)) {
		kind, region, ok := classify(name)
		if !ok || (len(im.Regions) > 0 && !slices.Contains(im.Regions, region)) {
			return
		}
		out = append(out, source{name: name, kind: kind, region: region, size: size, open: open})
	}
	if fi.IsDir() {
		err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(path, p)
			info, err := d.Info()
			if err != nil {
				return err
			}
			add(filepath.ToSlash(rel), info.Size(), func() (io.ReadCloser, error) { return os.Open(p) })
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("address: %s: %w", path, err)
		}
	} else {
		zr, err := zip.OpenReader(path)
		if err != nil {
			return nil, nil, fmt.Errorf("address: %s: not a folder nor a zip archive: %w", path, err)
		}
		closer = func() { zr.Close() }
		for _, f := range zr.File {
			add(f.Name, int64(f.UncompressedSize64), f.Open)
		}
	}
	slices.SortFunc(out, func(a, b source) int {
		if a.region != b.region {
			return a.region - b.region
		}
		if a.kind != b.kind {
			return int(a.kind) - int(b.kind)
		}
		return strings.Compare(a.name, b.name)
	})
	return out, closer, nil
}

// countingReader counts the bytes read through it, for progress.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (im *Importer) importFile(ctx context.Context, s source, idx, total int, st *Stats) error {
	st.Files++
	var done, resumeAt int64
	err := im.DB.Read.QueryRowContext(ctx, `SELECT records, done FROM address_import_files WHERE name = $1`, s.name).Scan(&resumeAt, &done)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("address: %s: read progress: %w", s.name, err)
	}
	p := Progress{File: s.name, FileIndex: idx, Files: total, Size: s.size, Resumed: resumeAt}
	if done == 1 {
		st.Skipped++
		p.Done, p.AlreadyRan, p.Bytes, p.Records = true, true, s.size, resumeAt
		im.progress(p)
		return nil
	}
	if resumeAt > 0 && im.Log != nil {
		im.Log.Info("address import resumes a file", "file", s.name, "after_records", resumeAt)
	}
	rc, err := s.open()
	if err != nil {
		return fmt.Errorf("address: %s: %w", s.name, err)
	}
	defer rc.Close()
	cr := &countingReader{r: rc}
	batchSize := im.Batch
	if batchSize <= 0 {
		batchSize = 2000
	}
	today := im.today()
	batch := make([]attrs, 0, batchSize)
	var last int64
	flush := func(final bool) error {
		if len(batch) == 0 && !final {
			return nil
		}
		kept, err := im.apply(ctx, s, batch, last, final, today)
		if err != nil {
			return err
		}
		st.Kept += kept
		batch = batch[:0]
		p.Records, p.Bytes, p.Done = last, cr.n, final
		im.progress(p)
		return nil
	}
	err = walk(cr, element[s.kind], func(n int64, a attrs) error {
		st.Records++
		last = n
		if n <= resumeAt {
			return nil
		}
		batch = append(batch, maps.Clone(a)) // out of the walker's reused map
		if len(batch) >= batchSize {
			return flush(false)
		}
		return ctx.Err()
	})
	if err != nil {
		return fmt.Errorf("address: %s: %w", s.name, err)
	}
	return flush(true)
}

func (im *Importer) progress(p Progress) {
	if im.Progress != nil {
		im.Progress(p)
	}
}

func (im *Importer) today() string {
	now := time.Now
	if im.Now != nil {
		now = im.Now
	}
	return now().UTC().Format("2006-01-02")
}

// apply writes one batch and the file's progress in one transaction: a
// crash loses the batch and its progress together, never one of them.
func (im *Importer) apply(ctx context.Context, s source, batch []attrs, upTo int64, final bool, today string) (int64, error) {
	var kept int64
	err := im.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		kept = 0
		w := &writer{tx: tx, dialect: im.DB.Dialect, region: s.region, today: today, queued: map[int64]bool{}}
		defer w.close()
		for i, a := range batch {
			ok, err := w.record(ctx, s.kind, a)
			if err != nil {
				return fmt.Errorf("record %d: %w", upTo-int64(len(batch))+int64(i)+1, err)
			}
			if ok {
				kept++
			}
		}
		if err := w.flush(ctx); err != nil {
			return err
		}
		doneFlag := 0
		if final {
			doneFlag = 1
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO address_import_files (name, records, done, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (name) DO UPDATE SET records = excluded.records, done = excluded.done, updated_at = excluded.updated_at`,
			s.name, upTo, doneFlag, time.Now().Unix())
		if err != nil {
			return fmt.Errorf("save progress: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("address: %s: %w", s.name, err)
	}
	return kept, nil
}

// writer applies records inside one transaction with statements prepared
// once per batch.
type writer struct {
	tx      *sql.Tx
	dialect db.Dialect
	region  int
	today   string
	stmts   map[string]*sql.Stmt

	objects   []pendingObject
	queued    map[int64]bool
	values    map[string][]pendingValue
	valueSeen map[string]map[int64]bool
}

func (w *writer) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if w.stmts == nil {
		w.stmts = map[string]*sql.Stmt{}
	}
	st, ok := w.stmts[q]
	if !ok {
		var err error
		if st, err = w.tx.PrepareContext(ctx, q); err != nil {
			return nil, err
		}
		w.stmts[q] = st
	}
	return st.ExecContext(ctx, args...)
}

func (w *writer) close() {
	for _, st := range w.stmts {
		st.Close()
	}
}

// record applies one record; it reports whether it was kept.
func (w *writer) record(ctx context.Context, kind fileKind, a attrs) (bool, error) {
	switch kind {
	case kindAddrObj:
		level, err := a.int64("LEVEL")
		if err != nil {
			return false, err
		}
		k := 1
		if level >= 7 {
			k = 2
		}
		name := strings.TrimSpace(a["NAME"])
		return w.object(ctx, a, int(level), k, name, strings.TrimSpace(a["TYPENAME"]), NameKeys(name))
	case kindHouses:
		num, key := houseName(a)
		if key == "" {
			return false, fmt.Errorf("attribute HOUSENUM missing")
		}
		return w.object(ctx, a, 10, 3, num, houseTypes[a["HOUSETYPE"]], []string{key})
	case kindHierarchy:
		return w.hierarchy(ctx, a)
	default:
		return w.param(ctx, a)
	}
}

// chunk is how many records of one kind a multi-row statement writes:
// one round trip instead of several per record, which on PostgreSQL is
// most of an import's time.
const chunk = 200

// pendingObject is an actual, active object waiting for its chunk.
type pendingObject struct {
	id, rec     int64
	guid        string
	level, kind int
	name, typ   string
	keys        []string
}

// pendingValue is a parent or a parameter waiting for its chunk.
type pendingValue struct {
	id  int64
	val any
}

// object queues an actual, active object and its keys, or deactivates the
// object when this non-actual record is the one held. Records of one
// object are applied in their order: a second record of a queued object,
// or a deactivation, writes the queue first.
func (w *writer) object(ctx context.Context, a attrs, level, kind int, name, typeName string, keys []string) (bool, error) {
	id, err := a.int64("OBJECTID")
	if err != nil {
		return false, err
	}
	rec, err := a.int64("ID")
	if err != nil {
		return false, err
	}
	guid := a["OBJECTGUID"]
	if len(guid) != 36 {
		return false, fmt.Errorf("attribute OBJECTGUID=%q is not a UUID", guid)
	}
	if a["ISACTUAL"] != "1" || a["ISACTIVE"] != "1" {
		if err := w.flush(ctx); err != nil {
			return false, err
		}
		res, err := w.exec(ctx, `UPDATE address_objects SET active = 0 WHERE object_id = $1 AND record_id = $2 AND active = 1`, id, rec)
		if err != nil {
			return false, fmt.Errorf("deactivate object %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			if _, err := w.exec(ctx, `DELETE FROM address_keys WHERE object_id = $1`, id); err != nil {
				return false, fmt.Errorf("deactivate object %d: %w", id, err)
			}
		}
		return false, nil
	}
	if w.queued[id] || len(w.objects) >= chunk {
		if err := w.flush(ctx); err != nil {
			return false, err
		}
	}
	w.queued[id] = true
	w.objects = append(w.objects, pendingObject{id: id, rec: rec, guid: strings.ToLower(guid), level: level, kind: kind, name: name, typ: typeName, keys: keys})
	return true, nil
}

// hierarchy queues the link of an object to its parent in the
// administrative division.
func (w *writer) hierarchy(ctx context.Context, a attrs) (bool, error) {
	if a["ISACTIVE"] != "1" {
		return false, nil
	}
	id, err := a.int64("OBJECTID")
	if err != nil {
		return false, err
	}
	var parent int64
	if a["PARENTOBJID"] != "" {
		if parent, err = a.int64("PARENTOBJID"); err != nil {
			return false, err
		}
	}
	return true, w.queue(ctx, "parent", id, parent)
}

// param queues the КЛАДР code (type 10) and the postcode (type 5) valid
// today; other parameters (ОКАТО, ОКТМО, cadastral numbers …) are skipped.
func (w *writer) param(ctx context.Context, a attrs) (bool, error) {
	var col string
	switch a["TYPEID"] {
	case "10":
		col = "kladr"
	case "5":
		col = "postcode"
	default:
		return false, nil
	}
	if a["ENDDATE"] < w.today || (a["STARTDATE"] != "" && a["STARTDATE"] > w.today) {
		return false, nil
	}
	id, err := a.int64("OBJECTID")
	if err != nil {
		return false, err
	}
	return true, w.queue(ctx, col, id, strings.TrimSpace(a["VALUE"]))
}

// queue adds a value of column col for object id, writing the queue
// first when the object is in it already (the later value wins).
func (w *writer) queue(ctx context.Context, col string, id int64, val any) error {
	if w.values == nil {
		w.values = map[string][]pendingValue{}
		w.valueSeen = map[string]map[int64]bool{}
	}
	if w.valueSeen[col] == nil {
		w.valueSeen[col] = map[int64]bool{}
	}
	if w.valueSeen[col][id] || len(w.values[col]) >= chunk {
		if err := w.flushValues(ctx, col); err != nil {
			return err
		}
	}
	w.valueSeen[col][id] = true
	w.values[col] = append(w.values[col], pendingValue{id, val})
	return nil
}

// flush writes everything queued.
func (w *writer) flush(ctx context.Context) error {
	if err := w.flushObjects(ctx); err != nil {
		return err
	}
	for _, col := range []string{"parent", "kladr", "postcode"} {
		if err := w.flushValues(ctx, col); err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) flushObjects(ctx context.Context) error {
	if len(w.objects) == 0 {
		return nil
	}
	objs := w.objects
	w.objects = w.objects[:0]
	clear(w.queued)
	if w.dialect == db.SQLite {
		return w.objectsByRow(ctx, objs)
	}
	var q strings.Builder
	args := make([]any, 0, len(objs)*9)
	q.WriteString(`INSERT INTO address_objects (object_id, record_id, guid, region, level, kind, name, type_name, type_key, active) VALUES `)
	ids := make([]string, 0, len(objs))
	for i, o := range objs {
		if i > 0 {
			q.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, 1)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9)
		args = append(args, o.id, o.rec, o.guid, w.region, o.level, o.kind, o.name, o.typ, TypeKey(o.typ))
		ids = append(ids, strconv.FormatInt(o.id, 10))
	}
	q.WriteString(` ON CONFLICT (object_id) DO UPDATE SET record_id = excluded.record_id, guid = excluded.guid, region = excluded.region,
		level = excluded.level, kind = excluded.kind, name = excluded.name, type_name = excluded.type_name,
		type_key = excluded.type_key, active = 1`)
	if _, err := w.tx.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("objects %d…%d: %w", objs[0].id, objs[len(objs)-1].id, err)
	}
	// The ids are integers parsed above, so writing them into the
	// statement is safe, and it keeps one parameter list short.
	if _, err := w.tx.ExecContext(ctx, `DELETE FROM address_keys WHERE object_id IN (`+strings.Join(ids, ", ")+`)`); err != nil {
		return fmt.Errorf("objects %d…%d keys: %w", objs[0].id, objs[len(objs)-1].id, err)
	}
	q.Reset()
	args = args[:0]
	q.WriteString(`INSERT INTO address_keys (key, object_id, kind, parent_id)
		SELECT v.key, o.object_id, o.kind, COALESCE(o.parent_id, 0) FROM (`)
	for _, o := range objs {
		for _, k := range o.keys {
			if len(args) > 0 {
				q.WriteString(" UNION ALL ")
			}
			fmt.Fprintf(&q, "SELECT CAST($%d AS TEXT) AS key, CAST($%d AS BIGINT) AS oid", len(args)+1, len(args)+2)
			args = append(args, k, o.id)
		}
	}
	if len(args) == 0 {
		return nil
	}
	// WHERE true: SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT.
	q.WriteString(`) v JOIN address_objects o ON o.object_id = v.oid WHERE true ON CONFLICT (object_id, key) DO NOTHING`)
	if _, err := w.tx.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("objects %d…%d keys: %w", objs[0].id, objs[len(objs)-1].id, err)
	}
	return nil
}

// objectsByRow writes objects one prepared statement at a time: on SQLite
// a statement costs no round trip, and the multi-row forms measured 2.5
// times slower there (BenchmarkImport).
func (w *writer) objectsByRow(ctx context.Context, objs []pendingObject) error {
	for _, o := range objs {
		_, err := w.exec(ctx, `INSERT INTO address_objects (object_id, record_id, guid, region, level, kind, name, type_name, type_key, active)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)
			ON CONFLICT (object_id) DO UPDATE SET record_id = excluded.record_id, guid = excluded.guid, region = excluded.region,
				level = excluded.level, kind = excluded.kind, name = excluded.name, type_name = excluded.type_name,
				type_key = excluded.type_key, active = 1`,
			o.id, o.rec, o.guid, w.region, o.level, o.kind, o.name, o.typ, TypeKey(o.typ))
		if err != nil {
			return fmt.Errorf("object %d: %w", o.id, err)
		}
		if _, err := w.exec(ctx, `DELETE FROM address_keys WHERE object_id = $1`, o.id); err != nil {
			return fmt.Errorf("object %d keys: %w", o.id, err)
		}
		for _, k := range o.keys {
			_, err := w.exec(ctx, `INSERT INTO address_keys (key, object_id, kind, parent_id)
				SELECT $1, object_id, kind, COALESCE(parent_id, 0) FROM address_objects WHERE object_id = $2
				ON CONFLICT (object_id, key) DO NOTHING`, k, o.id)
			if err != nil {
				return fmt.Errorf("object %d keys: %w", o.id, err)
			}
		}
	}
	return nil
}

func (w *writer) flushValues(ctx context.Context, col string) error {
	vals := w.values[col]
	if len(vals) == 0 {
		return nil
	}
	w.values[col] = vals[:0]
	clear(w.valueSeen[col])
	cols := map[string][]string{"parent": {"address_objects", "parent_id", "address_keys", "parent_id"}, "kladr": {"address_objects", "kladr"}, "postcode": {"address_objects", "postcode"}}[col]
	if w.dialect == db.SQLite {
		// SQLite runs UPDATE … FROM with the updated table as the outer
		// loop (a scan per chunk); statements cost no round trip there,
		// so one prepared statement per row is the fast way.
		for _, v := range vals {
			for i := 0; i < len(cols); i += 2 {
				if _, err := w.exec(ctx, `UPDATE `+cols[i]+` SET `+cols[i+1]+` = $1 WHERE object_id = $2`, v.val, v.id); err != nil {
					return fmt.Errorf("%s of object %d: %w", col, v.id, err)
				}
			}
		}
		return nil
	}
	typ := "TEXT"
	if col == "parent" {
		typ = "BIGINT"
	}
	var from strings.Builder
	args := make([]any, 0, len(vals)*2)
	for i, v := range vals {
		if i > 0 {
			from.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&from, "SELECT CAST($%d AS BIGINT) AS id, CAST($%d AS %s) AS val", 2*i+1, 2*i+2, typ)
		args = append(args, v.id, v.val)
	}
	for i := 0; i < len(cols); i += 2 {
		_, err := w.tx.ExecContext(ctx, `UPDATE `+cols[i]+` SET `+cols[i+1]+` = v.val FROM (`+from.String()+`) AS v WHERE `+cols[i]+`.object_id = v.id`, args...)
		if err != nil {
			return fmt.Errorf("%s of objects %d…%d: %w", col, vals[0].id, vals[len(vals)-1].id, err)
		}
	}
	return nil
}

// houseTypes are the short names of AS_HOUSE_TYPES.
var houseTypes = map[string]string{
	"1": "влд", "2": "д", "3": "двлд", "4": "г-ж", "5": "зд", "6": "шахта", "7": "стр", "8": "соор",
	"9": "литера", "10": "к", "11": "подв", "12": "кот", "13": "п-б", "14": "ОНС",
}

// addTypes are the short names of AS_ADDHOUSE_TYPES (корпус, строение …).
var addTypes = map[string]string{"1": "к", "2": "стр", "3": "соор", "4": "литера"}

// houseName returns a house's number as displayed ("12 к 1") and its key
// ("12к1").
func houseName(a attrs) (string, string) {
	parts := []string{strings.TrimSpace(a["HOUSENUM"])}
	for _, i := range []string{"1", "2"} {
		if n := strings.TrimSpace(a["ADDNUM"+i]); n != "" {
			t := addTypes[a["ADDTYPE"+i]]
			if t == "" {
				t = "к"
			}
			parts = append(parts, t, n)
		}
	}
	name := strings.TrimSpace(strings.Join(parts, " "))
	return name, HouseKey(name)
}

// ParseRegions reads "77", "77,50" or "77 50" into region codes.
func ParseRegions(s string) ([]int, error) {
	var out []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 || n > 99 {
			return nil, fmt.Errorf("address: region %q: want a region code 1–99", f)
		}
		out = append(out, n)
	}
	return out, nil
}
