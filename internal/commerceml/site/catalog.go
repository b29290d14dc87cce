package site

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/obmen/obmen/internal/commerceml"
	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/crm"
)

// exportPage is how many products one read of the export takes.
const exportPage = 500

// ids of what Obmen made itself (records with no 1C id of their own).
func ownID(kind string, id int64) string { return "obmen-" + kind + "-" + strconv.FormatInt(id, 10) }

const (
	classifierID = "obmen-classifier"
	catalogID    = "obmen-catalog"
	retailID     = "obmen-price-retail"
	retailName   = "Розничная"
)

// priceType is a price type published: its name in product_prices
// ("" for the products' own price) and what the offers say.
type priceType struct {
	key string
	commerceml.PriceType
}

// exporter writes import.xml and offers.xml side by side.
type exporter struct {
	s       *Service
	set     Settings
	res     *RunResult
	cat     *commerceml.CatalogWriter
	off     *commerceml.OffersWriter
	groups  map[int64]string // catalog id → group Ид
	units   map[string]string
	types   []priceType
	filter  string // the products' (and services') catalog condition
	fargs   []any
	exports map[int64]bool // the catalogs exported (nil: all)
	// since: with "only changed", the start of the last successful
	// export (µs); 0 exports everything. sinceEvent: the last change
	// event that export covered (0: none known).
	since, sinceEvent int64
	// dir is the run's folder; pictures the files written under it for
	// the goods' <Картинка> (import_files/…), each once.
	dir      string
	pictures []string
	written  map[string]bool
	// sent are the pictures the site has from earlier runs (name →
	// sha256), loaded for "only changed"; sums what this run wrote.
	sent, sums map[string]string
}

// changed is the condition on a page's rows for "only changed" (its
// placeholder follows the catalog filter's), and its argument.
func (x *exporter) changed(table string) (string, []any) {
	if x.since == 0 {
		return "", nil
	}
	ph := "$" + strconv.Itoa(len(x.fargs)+2)
	cond := " AND (updated_at > " + ph
	if table == "products" {
		cond += " OR id IN (SELECT product_id FROM product_variants WHERE updated_at > " + ph + ")"
	}
	if x.sinceEvent == 0 {
		return cond + ")", []any{x.since}
	}
	// A product's prices per type and stocks per warehouse change without
	// its row (1C's offers): their change events name it.
	// A catalog's items set from the catalog (not the product) change
	// the catalog: its items go again, so one newly in it reaches the
	// site with its pictures.
	entity := map[string]string{"products": "product", "services": "service"}[table]
	ev := "$" + strconv.Itoa(len(x.fargs)+3)
	cond += " OR id IN (SELECT record_id FROM events WHERE entity = '" + entity + "' AND id > " + ev + ")" +
		" OR id IN (SELECT item_id FROM catalog_items WHERE item_type = '" + entity + "' AND catalog_id IN (SELECT record_id FROM events WHERE entity = 'catalog' AND id > " + ev + "))"
	return cond + ")", []any{x.since, x.sinceEvent}
}

// runCatalog exports the chosen catalogs to the site.
func (s *Service) runCatalog(ctx context.Context, set Settings, dir string, res *RunResult) error {
	c := s.client(set)
	if err := c.Checkauth(ctx, "catalog"); err != nil {
		return err
	}
	useZip, _, err := c.Init(ctx, "catalog")
	if err != nil {
		return err
	}
	if err := s.writeCatalog(ctx, set, dir, res); err != nil {
		return err
	}
	if res.unchanged {
		// Nothing to send — "only changed" with nothing changed since
		// the last export, or a full export of no goods (a problem on the
		// entry says so): an empty package would change nothing on the
		// site, or deactivate all it has, and 1C's schema wants at least
		// one good in it; the run succeeds and its documents stay in the
		// journal.
		s.log.Info("site exchange: nothing changed since the last catalog export", "site", set.ID)
		return nil
	}
	// The pictures go first: the site's import of import.xml finds
	// them in its import_files.
	names := append(slices.Clip(res.pictures), "import.xml", "offers.xml")
	if useZip {
		if err := zipFiles(filepath.Join(dir, "catalog.zip"), dir, names); err != nil {
			return err
		}
		if err := upload(ctx, c, filepath.Join(dir, "catalog.zip"), "catalog.zip"); err != nil {
			return err
		}
		res.Files = append(res.Files, "catalog.zip")
	} else {
		for _, n := range names {
			if err := upload(ctx, c, filepath.Join(dir, n), n); err != nil {
				return err
			}
		}
	}
	for _, n := range []string{"import.xml", "offers.xml"} {
		if _, err := c.Import(ctx, "catalog", n, nil); err != nil {
			return err
		}
	}
	// Newer modules take mode=complete at the end; older ones may refuse
	// it, which does not undo the import.
	if err := c.Mode(ctx, "catalog", "complete"); err != nil {
		s.log.Info("site exchange: mode=complete refused", "site", set.ID, "err", err)
	}
	return nil
}

func upload(ctx context.Context, c interface {
	Upload(ctx context.Context, typ, name string, r io.Reader) error
}, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("site exchange: %w", err)
	}
	defer f.Close()
	return c.Upload(ctx, "catalog", name, f)
}

func zipFiles(dst, dir string, names []string) error {
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("site exchange: %w", err)
	}
	zw := zip.NewWriter(f)
	for _, n := range names {
		w, err := zw.Create(n)
		if err == nil {
			var src *os.File
			if src, err = os.Open(filepath.Join(dir, n)); err == nil {
				_, err = io.Copy(w, src)
				src.Close()
			}
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("site exchange: zip %s: %w", n, err)
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return fmt.Errorf("site exchange: zip: %w", err)
	}
	return f.Close()
}

// writeCatalog writes dir/import.xml and dir/offers.xml, and the goods'
// pictures under dir/import_files (their names returned).
func (s *Service) writeCatalog(ctx context.Context, set Settings, dir string, res *RunResult) error {
	x := &exporter{s: s, set: set, res: res, groups: map[int64]string{}, units: map[string]string{}, dir: dir, written: map[string]bool{},
		sent: map[string]string{}, sums: map[string]string{}}
	if set.OnlyChanged {
		if err := s.db.Read.QueryRowContext(ctx, "SELECT catalog_cursor, catalog_events FROM site_exchanges WHERE id = $1", set.ID).Scan(&x.since, &x.sinceEvent); err != nil {
			return fmt.Errorf("site exchange: %w", err)
		}
		if x.since != 0 {
			if err := x.loadSent(ctx); err != nil {
				return err
			}
		}
	}
	groups, err := x.loadGroups(ctx)
	if err != nil {
		return err
	}
	if err := x.loadUnits(ctx); err != nil {
		return err
	}
	if err := x.loadPriceTypes(ctx); err != nil {
		return err
	}
	fi, err := os.Create(filepath.Join(dir, "import.xml"))
	if err != nil {
		return fmt.Errorf("site exchange: %w", err)
	}
	defer fi.Close()
	fo, err := os.Create(filepath.Join(dir, "offers.xml"))
	if err != nil {
		return fmt.Errorf("site exchange: %w", err)
	}
	defer fo.Close()
	owner, problem, err := s.owner(ctx, set)
	if err != nil {
		return err
	}
	if problem != "" {
		res.Problems = append(res.Problems, problem)
	}
	enc, at := set.WriteEncoding(), s.now()
	head := commerceml.Catalog{ID: catalogID, ClassifierID: classifierID, Name: "Каталог товаров", OnlyChanges: x.since != 0, Owner: owner}
	if x.cat, err = commerceml.NewCatalogWriter(fi, enc, set.Version, at, head, groups); err != nil {
		return err
	}
	types := make([]commerceml.PriceType, len(x.types))
	for i, t := range x.types {
		types[i] = t.PriceType
	}
	pkg := commerceml.Offers{ID: catalogID + "#offers", CatalogID: catalogID, ClassifierID: classifierID, Name: "Пакет предложений", OnlyChanges: x.since != 0, Owner: owner}
	if x.off, err = commerceml.NewOffersWriter(fo, enc, set.Version, at, pkg, types); err != nil {
		return err
	}
	if err := x.products(ctx); err != nil {
		return err
	}
	if err := x.services(ctx); err != nil {
		return err
	}
	if err := x.cat.Close(); err != nil {
		return fmt.Errorf("site exchange: import.xml: %w", err)
	}
	if err := x.off.Close(); err != nil {
		return fmt.Errorf("site exchange: offers.xml: %w", err)
	}
	res.Files = append(res.Files, "import.xml", "offers.xml")
	res.pictures, res.sums = x.pictures, x.sums
	sent := 0
	for _, c := range res.Counts {
		sent += c.Sent
	}
	res.unchanged = sent == 0 && len(x.pictures) == 0
	if res.unchanged && x.since == 0 {
		// A full export of nothing: 1C's schema wants a good in the
		// package, and a site module taking an empty full catalog may
		// deactivate everything it has — better the user decides.
		res.Problems = append(res.Problems, "the chosen catalogs have no active products or services: nothing was sent, the site keeps what it has")
	}
	return nil
}

// loadGroups reads the catalogs as the classifier's groups: the chosen
// ones with their subcatalogs, or all.
func (x *exporter) loadGroups(ctx context.Context) ([]commerceml.Group, error) {
	rows, err := x.s.db.Read.QueryContext(ctx, `SELECT c.id, c.name, c.parent_id, COALESCE(e.external_id, '') FROM catalogs c
		LEFT JOIN external_ids e ON e.entity = 'catalog' AND e.record_id = c.id AND e.system = $1
		WHERE c.deleted_at = 0 ORDER BY c.id`, crm.IntegrationOneC)
	if err != nil {
		return nil, fmt.Errorf("site exchange: catalogs: %w", err)
	}
	defer rows.Close()
	type cat struct {
		id, parent int64
		name, ext  string
	}
	var all []cat
	for rows.Next() {
		var c cat
		if err := rows.Scan(&c.id, &c.name, &c.parent, &c.ext); err != nil {
			return nil, fmt.Errorf("site exchange: catalogs: %w", err)
		}
		all = append(all, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("site exchange: catalogs: %w", err)
	}
	if len(x.set.Catalogs) > 0 {
		x.exports = map[int64]bool{}
		for _, id := range x.set.Catalogs {
			x.exports[id] = true
		}
		// Subcatalogs of chosen ones go too (parents come before children
		// by id only usually, so repeat until nothing is added).
		for added := true; added; {
			added = false
			for _, c := range all {
				if !x.exports[c.id] && x.exports[c.parent] {
					x.exports[c.id], added = true, true
				}
			}
		}
		ph := make([]string, 0, len(x.exports))
		for id := range x.exports {
			x.fargs = append(x.fargs, id)
			ph = append(ph, "$"+strconv.Itoa(len(x.fargs)+1))
		}
		x.filter = " AND id IN (SELECT item_id FROM catalog_items WHERE item_type = '%s' AND catalog_id IN (" + strings.Join(ph, ", ") + "))"
	}
	var out []commerceml.Group
	for _, c := range all {
		if x.exports != nil && !x.exports[c.id] {
			continue
		}
		gid := c.ext
		if gid == "" {
			gid = ownID("catalog", c.id)
		}
		x.groups[c.id] = gid
	}
	for _, c := range all {
		if gid, ok := x.groups[c.id]; ok {
			out = append(out, commerceml.Group{ID: gid, Name: c.name, ParentID: x.groups[c.parent]})
		}
	}
	return out, nil
}

func (x *exporter) loadUnits(ctx context.Context) error {
	rows, err := x.s.db.Read.QueryContext(ctx, "SELECT name, okei FROM units")
	if err != nil {
		return fmt.Errorf("site exchange: units: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n, code string
		if err := rows.Scan(&n, &code); err != nil {
			return fmt.Errorf("site exchange: units: %w", err)
		}
		x.units[strings.ToLower(n)] = code
	}
	return rows.Err()
}

func (x *exporter) unit(name string) commerceml.Unit {
	if name = strings.TrimSpace(name); name == "" {
		name = "шт"
	}
	// The code from the product's unit (the units dictionary), else the
	// one its name has in the ОКЕИ table: the price's <Единица> of 2.08
	// on is that code.
	return commerceml.Unit{Short: name, Code: x.units[strings.ToLower(name)]}.Resolved()
}

// priceTypeID is the id of a price type Obmen names itself (no 1C id):
// "obmen-price-<name>", or for a name that would make it longer than the
// schema's 40 characters (ИдентификаторГлобальныйТип) a hash of the name
// in its place — the same for the same name, run after run.
func priceTypeID(name string) string {
	id := "obmen-price-" + name
	if utf8.RuneCountInString(id) <= 40 {
		return id
	}
	sum := sha256.Sum256([]byte(name))
	return "obmen-price-" + hex.EncodeToString(sum[:14])
}

// loadPriceTypes: the chosen type and the extra ones, with the 1C id and
// currency they carry; the products' own price as "Розничная" when no
// type is chosen.
func (x *exporter) loadPriceTypes(ctx context.Context) error {
	if x.set.PriceType == "" {
		x.types = append(x.types, priceType{key: "", PriceType: commerceml.PriceType{ID: retailID, Name: retailName, Currency: "RUB"}})
	}
	for _, name := range append([]string{x.set.PriceType}, x.set.ExtraPriceTypes...) {
		if name == "" {
			continue
		}
		var id1c, cur sql.NullString
		err := x.s.db.Read.QueryRowContext(ctx, "SELECT MAX(type_id1c), MAX(currency) FROM product_prices WHERE price_type = $1", name).Scan(&id1c, &cur)
		if err != nil {
			return fmt.Errorf("site exchange: price type %q: %w", name, err)
		}
		if !cur.Valid {
			return fmt.Errorf("site exchange: price_type %q: no product has a price of this type", name)
		}
		id := id1c.String
		if id == "" {
			id = priceTypeID(name)
		}
		x.types = append(x.types, priceType{key: name, PriceType: commerceml.PriceType{ID: id, Name: name, Currency: cur.String}})
	}
	return nil
}

type product struct {
	id          int64
	name        string
	article     string
	unit        string
	price       int64
	currency    string
	vat         sql.NullInt64
	stock       int64
	description string
	ext         string
}

func (p *product) goodID() string {
	if p.ext != "" {
		return p.ext
	}
	return ownID("product", p.id)
}

// variantID is a variant's Ид in what Obmen sends the site:
// "<good>#<characteristic>", the characteristic being 1C's (after the
// "#" of the 1C id the variant keeps) or Obmen's own.
func variantID(good string, v *crm.ProductVariant) string {
	_, char, ok := strings.Cut(v.ID1C, "#")
	if !ok || char == "" {
		char = v.ID1C
	}
	if char == "" {
		char = ownID("variant", v.ID)
	}
	return good + "#" + char
}

func inList(n, from int) string {
	ph := make([]string, n)
	for i := range ph {
		ph[i] = "$" + strconv.Itoa(from+i)
	}
	return strings.Join(ph, ", ")
}

func int64s(ids []int64) []any {
	out := make([]any, len(ids))
	for i, v := range ids {
		out[i] = v
	}
	return out
}

// products pages through the products, writing each good and its offers.
func (x *exporter) products(ctx context.Context) error {
	var after int64
	for {
		args := append([]any{after}, x.fargs...)
		q := `SELECT id, name, article, unit, price, currency, vat_rate, stock, description,
			COALESCE((SELECT e.external_id FROM external_ids e WHERE e.entity = 'product' AND e.record_id = products.id AND e.system = '1c'), '')
			FROM products WHERE deleted_at = 0 AND active AND id > $1`
		if x.filter != "" {
			q += fmt.Sprintf(x.filter, "product")
		}
		if cond, more := x.changed("products"); cond != "" {
			q += cond
			args = append(args, more...)
		}
		var page []product
		err := x.each(ctx, "products", q+" ORDER BY id LIMIT "+strconv.Itoa(exportPage), args, func(rows *sql.Rows) error {
			var p product
			err := rows.Scan(&p.id, &p.name, &p.article, &p.unit, &p.price, &p.currency, &p.vat, &p.stock, &p.description, &p.ext)
			page = append(page, p)
			return err
		})
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		if err := x.productPage(ctx, page); err != nil {
			return err
		}
		after = page[len(page)-1].id
	}
}

// pageData is what one page of products needs beside its rows.
type pageData struct {
	groups   map[int64][]string
	variants map[int64][]crm.ProductVariant
	prices   map[[2]int64]map[string]int64 // (product, variant) → price type → price
	stocks   map[[2]int64]map[string]int64 // (product, variant) → warehouse → quantity
}

func (x *exporter) pageData(ctx context.Context, itemType string, ids []int64) (pageData, error) {
	d := pageData{groups: map[int64][]string{}, prices: map[[2]int64]map[string]int64{}, stocks: map[[2]int64]map[string]int64{}}
	err := x.each(ctx, "catalog items", "SELECT item_id, catalog_id FROM catalog_items WHERE item_type = $1 AND item_id IN ("+inList(len(ids), 2)+") ORDER BY item_id, catalog_id",
		append([]any{itemType}, int64s(ids)...), func(rows *sql.Rows) error {
			var item, cat int64
			if err := rows.Scan(&item, &cat); err != nil {
				return err
			}
			if g, ok := x.groups[cat]; ok {
				d.groups[item] = append(d.groups[item], g)
			}
			return nil
		})
	if err != nil || itemType != "product" {
		return d, err
	}
	if d.variants, err = x.s.st.VariantsOfProducts(ctx, ids); err != nil {
		return d, fmt.Errorf("site exchange: %w", err)
	}
	// byItem reads (product, variant, key, value) rows into m.
	byItem := func(m map[[2]int64]map[string]int64) func(rows *sql.Rows) error {
		return func(rows *sql.Rows) error {
			var p, v, n int64
			var key string
			if err := rows.Scan(&p, &v, &key, &n); err != nil {
				return err
			}
			k := [2]int64{p, v}
			if m[k] == nil {
				m[k] = map[string]int64{}
			}
			m[k][key] = n
			return nil
		}
	}
	if err := x.each(ctx, "prices", "SELECT product_id, variant_id, price_type, price FROM product_prices WHERE product_id IN ("+inList(len(ids), 1)+")",
		int64s(ids), byItem(d.prices)); err != nil {
		return d, err
	}
	if len(x.set.Warehouses) == 0 {
		return d, nil
	}
	return d, x.each(ctx, "stocks", "SELECT product_id, variant_id, warehouse, quantity FROM product_stocks WHERE product_id IN ("+inList(len(ids), 1)+")",
		int64s(ids), byItem(d.stocks))
}

// each runs a query of the export and hands each row to scan; an error
// names what was read.
func (x *exporter) each(ctx context.Context, what, q string, args []any, scan func(rows *sql.Rows) error) error {
	rows, err := x.s.db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("site exchange: %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("site exchange: %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("site exchange: %s: %w", what, err)
	}
	return nil
}

func vatRate(v sql.NullInt64) []commerceml.TaxRate {
	if !v.Valid {
		return nil
	}
	if v.Int64 == 0 {
		return []commerceml.TaxRate{{Name: "НДС", Rate: "Без налога"}}
	}
	return []commerceml.TaxRate{{Name: "НДС", Rate: strings.TrimSuffix(strings.TrimSuffix(commerceml.FormatDecimal(v.Int64, 2), "0"), ".0")}}
}

// offer fills the prices and stock of one offer.
func (x *exporter) offer(o *commerceml.Offer, d pageData, pid, vid int64, own int64, ownStock int64) {
	for _, t := range x.types {
		price, ok := own, t.key == ""
		if !ok {
			price, ok = d.prices[[2]int64{pid, vid}][t.key]
		}
		if ok {
			o.Prices = append(o.Prices, commerceml.Price{TypeID: t.ID, PerUnit: commerceml.FormatDecimal(price, 2), Currency: t.Currency})
		}
	}
	qty := ownStock
	if len(x.set.Warehouses) > 0 {
		qty = 0
		for _, w := range x.set.Warehouses {
			q := d.stocks[[2]int64{pid, vid}][w]
			qty += q
			o.Stores = append(o.Stores, commerceml.StoreStock{ID: w, Quantity: crm.Quantity(q).String()})
		}
	}
	s := crm.Quantity(qty).String()
	o.Quantity = &s
}

func (x *exporter) productPage(ctx context.Context, page []product) error {
	ids := make([]int64, len(page))
	for i, p := range page {
		ids[i] = p.id
	}
	d, err := x.pageData(ctx, "product", ids)
	if err != nil {
		return err
	}
	images, err := x.s.st.ProductImagesOf(ctx, ids)
	if err != nil {
		return fmt.Errorf("site exchange: %w", err)
	}
	count := x.res.of("product")
	for _, p := range page {
		gid := p.goodID()
		u := x.unit(p.unit)
		g := commerceml.Good{ID: gid, Article: p.article, Name: p.name, Unit: u, Description: p.description, GroupIDs: d.groups[p.id], Taxes: vatRate(p.vat),
			Requisites: []commerceml.Requisite{{Name: "ВидНоменклатуры", Value: "Товар"}, {Name: "ТипНоменклатуры", Value: "Товар"}}}
		for _, im := range images[p.id] {
			if im.VariantID != 0 {
				continue
			}
			name, err := x.picture(ctx, im)
			if err != nil {
				return err
			}
			g.Pictures = append(g.Pictures, name)
		}
		if err := x.cat.Good(&g); err != nil {
			return fmt.Errorf("site exchange: import.xml: %w", err)
		}
		count.Sent++
		vs := d.variants[p.id]
		if len(vs) == 0 {
			o := commerceml.Offer{ID: gid, Article: p.article, Name: p.name, Unit: u}
			x.offer(&o, d, p.id, 0, p.price, p.stock)
			if err := x.off.Offer(&o); err != nil {
				return fmt.Errorf("site exchange: offers.xml: %w", err)
			}
			continue
		}
		for _, v := range vs {
			if !v.Active {
				continue
			}
			o := commerceml.Offer{ID: variantID(gid, &v), Article: v.Article, Name: v.Name, Unit: u}
			if o.Name == "" {
				o.Name = p.name
			}
			for _, c := range v.Characteristics {
				o.Characteristics = append(o.Characteristics, commerceml.Requisite{Name: c.Name, Value: c.Value})
			}
			for _, im := range images[p.id] {
				if im.VariantID != v.ID {
					continue
				}
				name, err := x.picture(ctx, im)
				if err != nil {
					return err
				}
				o.Pictures = append(o.Pictures, name)
			}
			x.offer(&o, d, p.id, v.ID, int64(v.Price), int64(v.Stock))
			if err := x.off.Offer(&o); err != nil {
				return fmt.Errorf("site exchange: offers.xml: %w", err)
			}
			x.res.of("variant").Sent++
		}
	}
	return nil
}

// loadSent reads the pictures the site has from earlier runs.
func (x *exporter) loadSent(ctx context.Context) error {
	rows, err := x.s.db.Read.QueryContext(ctx, "SELECT name, sha256 FROM site_pictures WHERE site_id = $1", x.set.ID)
	if err != nil {
		return fmt.Errorf("site exchange: pictures sent: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, sum string
		if err := rows.Scan(&name, &sum); err != nil {
			return fmt.Errorf("site exchange: pictures sent: %w", err)
		}
		x.sent[name] = sum
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("site exchange: pictures sent: %w", err)
	}
	return nil
}

// picturePath is where a picture goes on the site: where 1C put it
// (import_files/…), else a name of its bytes in 1C's layout
// (import_files/ab/abcdef….jpg).
func picturePath(im crm.ProductImage) string {
	if strings.HasPrefix(im.Path, "import_files/") {
		if p, err := exchange.CleanName(im.Path); err == nil {
			return p
		}
	}
	return "import_files/" + im.SHA256[:2] + "/" + im.SHA256 + crm.ImageExt(im.ContentType)
}

// picture writes a picture's file under the run's folder once and
// returns its name in the documents.
func (x *exporter) picture(ctx context.Context, im crm.ProductImage) (string, error) {
	name := picturePath(im)
	if x.written[name] || x.sent[name] == im.SHA256 {
		// Written already, or sent by an earlier export: the site has
		// it (it keeps a picture named again and not re-sent).
		return name, nil
	}
	var data []byte
	if err := x.s.db.Read.QueryRowContext(ctx, "SELECT data FROM product_images WHERE id = $1", im.ID).Scan(&data); err != nil {
		return "", fmt.Errorf("site exchange: picture %s: %w", im.FileName, err)
	}
	p := filepath.Join(x.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", fmt.Errorf("site exchange: %w", err)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		return "", fmt.Errorf("site exchange: %w", err)
	}
	x.written[name] = true
	x.sums[name] = im.SHA256
	x.pictures = append(x.pictures, name)
	x.res.of("picture").Sent++
	return name, nil
}

// services writes the services as goods marked "Услуга" with a price.
func (x *exporter) services(ctx context.Context) error {
	var after int64
	count := x.res.of("service")
	for {
		args := append([]any{after}, x.fargs...)
		q := `SELECT id, name, unit, price, currency, vat_rate, description,
			COALESCE((SELECT e.external_id FROM external_ids e WHERE e.entity = 'service' AND e.record_id = services.id AND e.system = '1c'), '')
			FROM services WHERE deleted_at = 0 AND active AND id > $1`
		if x.filter != "" {
			q += fmt.Sprintf(x.filter, "service")
		}
		if cond, more := x.changed("services"); cond != "" {
			q += cond
			args = append(args, more...)
		}
		var page []product
		err := x.each(ctx, "services", q+" ORDER BY id LIMIT "+strconv.Itoa(exportPage), args, func(rows *sql.Rows) error {
			var p product
			err := rows.Scan(&p.id, &p.name, &p.unit, &p.price, &p.currency, &p.vat, &p.description, &p.ext)
			page = append(page, p)
			return err
		})
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		ids := make([]int64, len(page))
		for i, p := range page {
			ids[i] = p.id
		}
		d, err := x.pageData(ctx, "service", ids)
		if err != nil {
			return err
		}
		for _, p := range page {
			gid := p.ext
			if gid == "" {
				gid = ownID("service", p.id)
			}
			u := x.unit(p.unit)
			g := commerceml.Good{ID: gid, Name: p.name, Unit: u, Description: p.description, GroupIDs: d.groups[p.id], Taxes: vatRate(p.vat),
				Requisites: []commerceml.Requisite{{Name: "ВидНоменклатуры", Value: "Услуга"}, {Name: "ТипНоменклатуры", Value: "Услуга"}}}
			if err := x.cat.Good(&g); err != nil {
				return fmt.Errorf("site exchange: import.xml: %w", err)
			}
			o := commerceml.Offer{ID: gid, Name: p.name, Unit: u}
			for _, t := range x.types {
				if t.key == "" {
					o.Prices = append(o.Prices, commerceml.Price{TypeID: t.ID, PerUnit: commerceml.FormatDecimal(p.price, 2), Currency: t.Currency})
				}
			}
			if err := x.off.Offer(&o); err != nil {
				return fmt.Errorf("site exchange: offers.xml: %w", err)
			}
			count.Sent++
		}
		after = page[len(page)-1].id
	}
}
