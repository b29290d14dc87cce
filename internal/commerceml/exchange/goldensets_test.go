package exchange_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/store/storetest"
	"golang.org/x/text/encoding/charmap"
)

// The golden sets (../testdata/sets) are catalogs shaped as 1C:УТ,
// УНФ and Розница write them, schema 2.03 to 2.10. Each runs through the
// real protocol twice on each engine — file by file in small chunks, and
// as one zip in chunks switched in writes of two products or goods — and
// the stored products, variants, prices per
// type and stock per warehouse must equal both an independent count of
// the files (countSet, which reads the XML with no code of the importer)
// and each other.

type setMeta struct {
	About      string     `json:"about"`
	PriceType  string     `json:"price_type"`
	Activate   []string   `json:"activate"`
	Handmade   [][]string `json:"handmade"`
	Collisions int        `json:"collisions"`
}

// node is a generic XML element.
type node struct {
	name string
	attr map[string]string
	text string
	kids []*node
}

func (n *node) all(name string) []*node {
	var out []*node
	for _, k := range n.kids {
		if k.name == name {
			out = append(out, k)
		}
	}
	return out
}

func (n *node) one(path ...string) *node {
	cur := n
	for _, p := range path {
		var next *node
		for _, k := range cur.kids {
			if k.name == p {
				next = k
				break
			}
		}
		if next == nil {
			return nil
		}
		cur = next
	}
	return cur
}

func (n *node) str(path ...string) string {
	if k := n.one(path...); k != nil {
		return strings.TrimSpace(k.text)
	}
	return ""
}

func parseTree(t *testing.T, b []byte) *node {
	t.Helper()
	b = bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
	d := xml.NewDecoder(bytes.NewReader(b))
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		if strings.EqualFold(label, "windows-1251") {
			return charmap.Windows1251.NewDecoder().Reader(in), nil
		}
		return in, nil
	}
	root := &node{}
	stack := []*node{root}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			n := &node{name: x.Name.Local, attr: map[string]string{}}
			for _, a := range x.Attr {
				n.attr[a.Name.Local] = a.Value
			}
			top := stack[len(stack)-1]
			top.kids = append(top.kids, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			stack[len(stack)-1].text += string(x)
		}
	}
	return root.kids[0]
}

// fixed reads a decimal as 1C writes it into an integer of 10^-scale.
func fixed(t *testing.T, s string, scale int) int64 {
	s = strings.NewReplacer(",", ".", " ", "", "\u00a0", "").Replace(strings.TrimSpace(s))
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("number %q", s)
	}
	r.Mul(r, new(big.Rat).SetInt64(map[int]int64{2: 100, 3: 1000}[scale]))
	return r.Num().Int64() / r.Denom().Int64()
}

// The currencies and units as the tests expect them stored, written out
// here rather than taken from the importer.
var wantCurrency = map[string]string{"": "RUB", "руб": "RUB", "руб.": "RUB", "RUR": "RUB", "₽": "RUB", "RUB": "RUB", "грн": "UAH", "у.е.": "USD", "USD": "USD"}
var wantUnit = map[string]string{"796": "шт", "166": "кг", "006": "м", "778": "упак", "715": "пар", "356": "ч", "642": "ед", "839": "компл"}

type wantOwner struct {
	good, name, article, unit string
	variant, service, priced  bool
	price, stock              int64
	currency                  string
	prices                    map[string]int64 // price type name → price
	stocks                    map[string]int64 // warehouse → quantity
	chars                     []string
}

// countSet is the independent count of a set's files.
func countSet(t *testing.T, dir string, files []string, meta setMeta) (want string, skipped []string) {
	goods := map[string]*wantOwner{}
	variants := map[string]*wantOwner{}
	var goodOrder []string
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		root := parseTree(t, b)
		if cat := root.one("Каталог"); cat != nil {
			for _, g := range cat.one("Товары").all("Товар") {
				o := &wantOwner{good: g.str("Ид"), name: g.str("Наименование"), article: g.str("Артикул"), prices: map[string]int64{}, stocks: map[string]int64{}, currency: "RUB"}
				u := g.one("БазоваяЕдиница")
				o.unit = strings.TrimSpace(u.text)
				if c := strings.TrimLeft(u.attr["Код"], "0"); o.unit == "" || strings.TrimSpace(u.kids2text()) == "" {
					if o.unit == "" {
						o.unit = wantUnit[fmt.Sprintf("%03s", c)]
						if o.unit == "" {
							o.unit = wantUnit[u.attr["Код"]]
						}
					}
				}
				for _, r := range g.one("ЗначенияРеквизитов").all("ЗначениеРеквизита") {
					if r.str("Наименование") == "ВидНоменклатуры" && r.str("Значение") == "Услуга" {
						o.service = true
					}
				}
				goods[o.good] = o
				goodOrder = append(goodOrder, o.good)
			}
		}
		pkg := root.one("ПакетПредложений")
		if pkg == nil {
			continue
		}
		types := map[string]string{}
		chosen := ""
		if tt := pkg.one("ТипыЦен"); tt != nil {
			for _, pt := range tt.all("ТипЦены") {
				types[pt.str("Ид")] = pt.str("Наименование")
			}
			for id, n := range types {
				if (meta.PriceType != "" && n == meta.PriceType) || (meta.PriceType == "" && n == "Розничная") {
					chosen = id
				}
			}
			if chosen == "" && len(types) == 1 {
				for id := range types {
					chosen = id
				}
			}
		}
		for _, of := range pkg.one("Предложения").all("Предложение") {
			id := of.str("Ид")
			good, _, isVariant := strings.Cut(id, "#")
			var o *wantOwner
			if isVariant {
				if goods[good] == nil {
					skipped = append(skipped, id)
					continue
				}
				if o = variants[id]; o == nil {
					o = &wantOwner{good: good, variant: true, prices: map[string]int64{}, stocks: map[string]int64{}, currency: "RUB"}
					variants[id] = o
				}
				if n := of.one("Наименование"); n != nil {
					o.name, o.article = of.str("Наименование"), of.str("Артикул")
				}
				if ch := of.one("ХарактеристикиТовара"); ch != nil {
					o.chars = nil
					for _, c := range ch.all("ХарактеристикаТовара") {
						o.chars = append(o.chars, c.str("Наименование")+"="+c.str("Значение"))
					}
				}
			} else if o = goods[good]; o == nil {
				skipped = append(skipped, id)
				continue
			}
			if cs := of.one("Цены"); cs != nil {
				for _, c := range cs.all("Цена") {
					p := fixed(t, c.str("ЦенаЗаЕдиницу"), 2)
					o.prices[types[c.str("ИдТипаЦены")]] = p
					if c.str("ИдТипаЦены") == chosen || chosen == "" {
						o.price, o.priced = p, true
						o.currency = wantCurrency[c.str("Валюта")]
					}
				}
			}
			var sum int64
			has := false
			addWh := func(wh, q string) {
				has = true
				if strings.TrimSpace(q) == "" {
					return
				}
				v := fixed(t, q, 3)
				sum += v
				o.stocks[wh] += v
			}
			stocksBefore := o.stocks
			o.stocks = map[string]int64{}
			for _, w := range of.all("Склад") {
				addWh(w.attr["ИдСклада"], w.attr["КоличествоНаСкладе"])
			}
			if rs := of.one("Остатки"); rs != nil {
				for _, r := range rs.all("Остаток") {
					if ws := r.all("Склад"); len(ws) > 0 {
						for _, w := range ws {
							addWh(w.str("Ид"), w.str("Количество"))
						}
					} else {
						has = true
						sum += fixed(t, r.str("Количество"), 3)
					}
				}
			}
			if q := of.one("Количество"); q != nil {
				o.stock = fixed(t, q.text, 3)
			} else if has {
				o.stock = sum
			}
			if !has {
				o.stocks = stocksBefore
			}
		}
	}
	// The products' totals from their variants.
	for _, v := range variants {
		g := goods[v.good]
		if !g.variant {
			g.variant, g.stock, g.price = true, 0, 0 // marks "has variants"
		}
	}
	for _, v := range variants {
		g := goods[v.good]
		g.stock += v.stock
		if v.price > 0 && (g.price == 0 || v.price < g.price) {
			g.price = v.price
		}
	}
	var lines []string
	for _, id := range goodOrder {
		g := goods[id]
		if g.service {
			lines = append(lines, fmt.Sprintf("service %s %s unit=%s price=%d", id, g.name, g.unit, g.price))
			continue
		}
		lines = append(lines, fmt.Sprintf("product %s %s|%s unit=%s price=%d %s stock=%d", id, g.name, g.article, g.unit, g.price, g.currency, g.stock))
		lines = append(lines, ownerLines(id, "", g)...)
	}
	for id, v := range variants {
		chars := v.chars
		if chars == nil {
			chars = []string{}
		}
		lines = append(lines, fmt.Sprintf("variant %s of %s %s|%s %s price=%d stock=%d", id, v.good, v.name, v.article, strings.Join(chars, ","), v.price, v.stock))
		lines = append(lines, ownerLines(v.good, id, v)...)
	}
	// Every live product: the goods' and the hand-made ones no good
	// linked to (the first good of a name and article links to one).
	n := 0
	linked := map[string]bool{}
	for _, id := range goodOrder {
		g := goods[id]
		if !g.service {
			n++
			linked[g.name+"|"+g.article] = true
		}
	}
	for _, h := range meta.Handmade {
		if !linked[h[0]+"|"+h[1]] {
			n++
		}
	}
	lines = append(lines, fmt.Sprintf("live products %d", n))
	sort.Strings(lines)
	return strings.Join(lines, "\n"), skipped
}

func (n *node) kids2text() string { return n.text }

func ownerLines(good, variant string, o *wantOwner) []string {
	var out []string
	for pt, p := range o.prices {
		out = append(out, fmt.Sprintf("price %s %s %s=%d", good, variant, pt, p))
	}
	for wh, q := range o.stocks {
		out = append(out, fmt.Sprintf("stock %s %s %s=%d", good, variant, wh, q))
	}
	return out
}

// dumpSet is what the database holds, in countSet's format.
func dumpSet(t *testing.T, e *env) string {
	t.Helper()
	var lines []string
	q := func(query string, scan func(func(...any) error) string) {
		rows, err := e.d.Read.QueryContext(e.ctx, query, exchange.System)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			lines = append(lines, scan(rows.Scan))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	q(`SELECT x.external_id, p.name, p.article, p.unit, p.price, p.currency, p.stock FROM products p
		JOIN external_ids x ON x.entity = 'product' AND x.record_id = p.id AND x.system = $1 WHERE p.deleted_at = 0`, func(sc func(...any) error) string {
		var id, n, a, u, cur string
		var price, stock int64
		if err := sc(&id, &n, &a, &u, &price, &cur, &stock); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("product %s %s|%s unit=%s price=%d %s stock=%d", id, n, a, u, price, cur, stock)
	})
	q(`SELECT x.external_id, s.name, s.unit, s.price FROM services s
		JOIN external_ids x ON x.entity = 'service' AND x.record_id = s.id AND x.system = $1 WHERE s.deleted_at = 0`, func(sc func(...any) error) string {
		var id, n, u string
		var price int64
		if err := sc(&id, &n, &u, &price); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("service %s %s unit=%s price=%d", id, n, u, price)
	})
	q(`SELECT v.id1c, x.external_id, v.name, v.article, v.characteristics, v.price, v.stock FROM product_variants v
		JOIN external_ids x ON x.entity = 'product' AND x.record_id = v.product_id AND x.system = $1`, func(sc func(...any) error) string {
		var id, good, n, a, chars string
		var price, stock int64
		if err := sc(&id, &good, &n, &a, &chars, &price, &stock); err != nil {
			t.Fatal(err)
		}
		var cs []struct{ Name, Value string }
		_ = json.Unmarshal([]byte(chars), &cs)
		parts := []string{}
		for _, c := range cs {
			parts = append(parts, c.Name+"="+c.Value)
		}
		return fmt.Sprintf("variant %s of %s %s|%s %s price=%d stock=%d", id, good, n, a, strings.Join(parts, ","), price, stock)
	})
	q(`SELECT x.external_id, COALESCE(v.id1c, ''), pp.price_type, pp.price FROM product_prices pp
		JOIN external_ids x ON x.entity = 'product' AND x.record_id = pp.product_id AND x.system = $1
		LEFT JOIN product_variants v ON v.id = pp.variant_id`, func(sc func(...any) error) string {
		var good, variant, pt string
		var price int64
		if err := sc(&good, &variant, &pt, &price); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("price %s %s %s=%d", good, variant, pt, price)
	})
	q(`SELECT x.external_id, COALESCE(v.id1c, ''), ps.warehouse, ps.quantity FROM product_stocks ps
		JOIN external_ids x ON x.entity = 'product' AND x.record_id = ps.product_id AND x.system = $1
		LEFT JOIN product_variants v ON v.id = ps.variant_id`, func(sc func(...any) error) string {
		var good, variant, wh string
		var q int64
		if err := sc(&good, &variant, &wh, &q); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("stock %s %s %s=%d", good, variant, wh, q)
	})
	var n int
	if err := e.d.Read.QueryRowContext(e.ctx, "SELECT COUNT(*) FROM products WHERE deleted_at = 0").Scan(&n); err != nil {
		t.Fatal(err)
	}
	lines = append(lines, fmt.Sprintf("live products %d", n))
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// setFiles are the XML files of a set in the order 1C imports them.
func setFiles(t *testing.T, dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	rank := func(n string) int {
		for i, p := range []string{"import", "offers", "prices", "rests"} {
			if strings.HasPrefix(n, p) {
				return i
			}
		}
		return 9
	}
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".xml") {
			out = append(out, e.Name())
		}
	}
	slices.SortFunc(out, func(a, b string) int { return rank(a) - rank(b) })
	return out
}

func TestGoldenSets(t *testing.T) {
	dirs, _ := filepath.Glob("../testdata/sets/*")
	if len(dirs) < 12 {
		t.Fatalf("%d golden sets", len(dirs))
	}
	for _, dir := range dirs {
		dir := dir
		t.Run(filepath.Base(dir), func(t *testing.T) {
			// Each set has databases and servers of its own; most of a
			// set's time is spent waiting on the database (a copied
			// PostgreSQL database's first connections), so sets overlap.
			t.Parallel()
			var meta setMeta
			b, err := os.ReadFile(filepath.Join(dir, "set.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &meta); err != nil {
				t.Fatal(err)
			}
			files := setFiles(t, dir)
			want, wantSkipped := countSet(t, dir, files, meta)
			for _, eng := range storetest.Engines(t) {
				t.Run(eng.Name, func(t *testing.T) {
					var dumps [2]string
					for way := 0; way < 2; way++ {
						e := newEnv(t, eng.Open(t))
						if way == 1 {
							// And switched in writes of two staged
							// products, or two goods with their offers.
							e.app.CommerceML.SetSwitchChunk(2)
						}
						dumps[way] = runSet(t, e, dir, files, meta, way == 1, wantSkipped)
					}
					if dumps[0] != want {
						t.Errorf("file by file: stored rows differ from the count of the files:\n%s", diffLines(want, dumps[0]))
					}
					if dumps[1] != dumps[0] {
						t.Errorf("zipped in chunks differs from file by file:\n%s", diffLines(dumps[0], dumps[1]))
					}
				})
			}
		})
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

// runSet drives a set through /1c_exchange.php and returns the dump.
func runSet(t *testing.T, e *env, dir string, files []string, meta setMeta, zipped bool, wantSkipped []string) string {
	e.settings(func(s *exchange.Settings) { s.PriceType = meta.PriceType })
	for _, code := range meta.Activate {
		if c, b := e.api("PUT", "/api/v1/currencies/"+code, map[string]any{"name": code, "active": true, "rate": "2.5"}); c != 200 {
			t.Fatalf("activate %s: %d %s", code, c, b)
		}
	}
	for _, h := range meta.Handmade {
		if c, b := e.api("POST", "/api/v1/products", map[string]any{"name": h[0], "article": h[1]}); c != 201 {
			t.Fatalf("hand-made product: %d %s", c, b)
		}
	}
	c := e.oneC()
	c.checkauth("catalog")
	c.must("catalog", "init", nil, nil, "zip=")
	read := func(f string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if zipped {
		all := map[string][]byte{}
		for _, f := range files {
			all[f] = read(f)
		}
		if out := c.upload("catalog", filepath.Base(dir)+".zip", zipOf(t, all), 700); out != "success\n" {
			t.Fatalf("zip upload: %q", out)
		}
		for _, f := range files {
			if out, _ := c.importAll(f); out != "success\n" {
				t.Fatalf("%s: %q", f, out)
			}
		}
	} else {
		for _, f := range files {
			if out := c.upload("catalog", f, read(f), 1000); out != "success\n" {
				t.Fatalf("%s upload: %q", f, out)
			}
			if out, _ := c.importAll(f); out != "success\n" {
				t.Fatalf("%s: %q", f, out)
			}
		}
	}
	c.must("catalog", "complete", nil, nil, "success")
	// Skipped items are listed by Ид; collisions named in the journal.
	var listed []string
	collisions := 0
	partly := false
	for _, en := range e.entries() {
		for _, it := range en.Skipped {
			listed = append(listed, it.ID)
		}
		for _, p := range en.Problems {
			if strings.Contains(p, "name+article collision") {
				collisions++
			}
		}
		partly = partly || en.PartlyFailed
	}
	slices.Sort(listed)
	ws := slices.Clone(wantSkipped)
	slices.Sort(ws)
	if !slices.Equal(listed, ws) {
		t.Errorf("skipped items %v, want %v", listed, ws)
	}
	if partly != (len(ws) > 0) {
		t.Errorf("partly failed %v with %d skipped", partly, len(ws))
	}
	if collisions != meta.Collisions {
		t.Errorf("%d collisions journaled, want %d", collisions, meta.Collisions)
	}
	return dumpSet(t, e)
}
