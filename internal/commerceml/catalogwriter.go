package commerceml

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/text/transform"

	"github.com/obmen/obmen/internal/crm"
)

// docWriter is what the catalog, offers and orders writers share: a
// buffered, encoded destination that keeps the first error.
type docWriter struct {
	bw  *bufio.Writer
	enc io.Writer // the charset encoder over the destination
	err error
	// keepSpace writes text as given; the catalog and offers writers trim
	// it, the orders writer has always written it untouched.
	keepSpace bool
}

func newDocWriter(w io.Writer, enc Encoding) *docWriter {
	e := encoder(enc, w)
	return &docWriter{bw: bufio.NewWriterSize(e, 32<<10), enc: e}
}

// end writes the document's last lines and flushes it. The windows-1251
// encoder holds back a partial rune until closed; it does not close the
// destination (which is not ours to close).
func (w *docWriter) end(tail string) error {
	w.printf("%s</%s>\n", tail, RootElement)
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	if c, ok := w.enc.(*transform.Writer); ok && w.err == nil {
		w.err = c.Close()
	}
	return w.err
}

func (w *docWriter) printf(format string, args ...any) {
	if w.err == nil {
		_, w.err = fmt.Fprintf(w.bw, format, args...)
	}
}

func (w *docWriter) escape(v string) {
	if w.err == nil {
		w.err = xml.EscapeText(w.bw, []byte(v))
	}
}

// text writes <name>v</name>, nothing when v is empty.
func (w *docWriter) text(indent, name, v string) {
	if !w.keepSpace {
		v = strings.TrimSpace(v)
	}
	if v == "" {
		return
	}
	w.printf("%s<%s>", indent, name)
	w.escape(v)
	w.printf("</%s>\n", name)
}

func (w *docWriter) attrText(v string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(strings.TrimSpace(v)))
	return b.String()
}

func (w *docWriter) root(enc Encoding, version string, at time.Time) {
	w.printf("<?xml version=\"1.0\" encoding=\"%s\"?>\n", enc)
	w.printf("<%s xmlns=\"%s\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ВерсияСхемы=\"%s\" ДатаФормирования=\"%s\">\n",
		RootElement, Namespace, version, at.Format("2006-01-02T15:04:05"))
}

// requisites writes <ЗначенияРеквизитов>, nothing when rs is empty; a
// value is written even when empty.
func (w *docWriter) requisites(indent string, rs []Requisite) {
	if len(rs) == 0 {
		return
	}
	w.printf("%s<ЗначенияРеквизитов>\n", indent)
	for _, r := range rs {
		w.printf("%s\t<ЗначениеРеквизита>\n", indent)
		w.text(indent+"\t\t", "Наименование", r.Name)
		w.printf("%s\t\t<Значение>", indent)
		w.escape(r.Value)
		w.printf("</Значение>\n%s\t</ЗначениеРеквизита>\n", indent)
	}
	w.printf("%s</ЗначенияРеквизитов>\n", indent)
}

// unit writes <БазоваяЕдиница>: attributes from 2.05, the text always
// (readers of 2.04 take the text).
func (w *docWriter) unit(indent string, u Unit) {
	if u.IsZero() {
		return
	}
	w.printf("%s<БазоваяЕдиница", indent)
	for _, a := range [][2]string{{"Код", u.Code}, {"НаименованиеПолное", u.FullName}, {"МеждународноеСокращение", u.Intl}} {
		if a[1] != "" {
			w.printf(" %s=\"%s\"", a[0], w.attrText(a[1]))
		}
	}
	w.printf(">")
	w.escape(crm.FirstText(u.Short, u.FullName, u.Code))
	w.printf("</БазоваяЕдиница>\n")
}

// owner writes <Владелец>, nothing when o is zero. 1C's schema requires
// an organisation's ОфициальноеНаименование or a person's
// ПолноеНаименование: the short name stands in for a missing one.
func (w *docWriter) owner(indent string, o Owner) {
	if o.IsZero() {
		return
	}
	in := indent + "\t"
	w.printf("%s<Владелец>\n", indent)
	w.text(in, "Ид", o.ID)
	w.text(in, "Наименование", o.Name)
	official := crm.FirstText(strings.TrimSpace(o.OfficialName), strings.TrimSpace(o.Name), strings.TrimSpace(o.ID))
	address := func(name string) {
		if a := strings.TrimSpace(o.Address); a != "" {
			w.printf("%s<%s>\n", in, name)
			w.text(in+"\t", "Представление", a)
			w.printf("%s</%s>\n", in, name)
		}
	}
	if o.Person {
		w.text(in, "ПолноеНаименование", official)
		w.text(in, "Фамилия", o.LastName)
		w.text(in, "Имя", o.FirstName)
		w.text(in, "Отчество", o.MiddleName)
		w.text(in, "ИНН", o.INN)
		w.text(in, "КПП", o.KPP)
		address("АдресРегистрации")
	} else {
		w.text(in, "ОфициальноеНаименование", official)
		address("ЮридическийАдрес")
		w.text(in, "ИНН", o.INN)
		w.text(in, "КПП", o.KPP)
		w.text(in, "ОКПО", o.OKPO)
	}
	w.printf("%s</Владелец>\n", indent)
}

// CatalogWriter writes a "Каталог" document (import.xml): the classifier
// with its groups, then the catalog's goods one at a time.
type CatalogWriter struct {
	*docWriter
}

// NewCatalogWriter starts an import.xml of the given schema version in
// enc with the classifier's groups (a group's ParentID names its parent,
// "" at the top; nested as the schema wants).
func NewCatalogWriter(w io.Writer, enc Encoding, version string, at time.Time, cat Catalog, groups []Group) (*CatalogWriter, error) {
	if err := CheckVersion(version); err != nil {
		return nil, fmt.Errorf("commerceml: %w", err)
	}
	cw := &CatalogWriter{newDocWriter(w, enc)}
	cw.root(enc, version, at)
	cw.printf("\t<Классификатор>\n")
	cw.text("\t\t", "Ид", cat.ClassifierID)
	cw.text("\t\t", "Наименование", cat.Name)
	cw.owner("\t\t", cat.Owner)
	children := map[string][]Group{}
	known := map[string]bool{}
	for _, g := range groups {
		known[g.ID] = true
	}
	for _, g := range groups {
		p := g.ParentID
		if !known[p] {
			p = ""
		}
		children[p] = append(children[p], g)
	}
	var write func(parent, indent string)
	write = func(parent, indent string) {
		gs := children[parent]
		if len(gs) == 0 {
			return
		}
		cw.printf("%s<Группы>\n", indent)
		for _, g := range gs {
			cw.printf("%s\t<Группа>\n", indent)
			cw.text(indent+"\t\t", "Ид", g.ID)
			cw.text(indent+"\t\t", "Наименование", g.Name)
			write(g.ID, indent+"\t\t")
			cw.printf("%s\t</Группа>\n", indent)
		}
		cw.printf("%s</Группы>\n", indent)
	}
	write("", "\t\t")
	cw.printf("\t</Классификатор>\n")
	cw.printf("\t<Каталог СодержитТолькоИзменения=\"%t\">\n", cat.OnlyChanges)
	cw.text("\t\t", "Ид", cat.ID)
	cw.text("\t\t", "ИдКлассификатора", cat.ClassifierID)
	cw.text("\t\t", "Наименование", cat.Name)
	cw.owner("\t\t", cat.Owner)
	cw.printf("\t\t<Товары>\n")
	return cw, cw.err
}

// Good writes one <Товар>.
func (w *CatalogWriter) Good(g *Good) error {
	in := "\t\t\t\t"
	if g.DeleteMark != "" {
		w.printf("\t\t\t<Товар Статус=\"Удален\">\n")
	} else {
		w.printf("\t\t\t<Товар>\n")
	}
	w.text(in, "Ид", g.ID)
	w.text(in, "Артикул", g.Article)
	w.text(in, "Наименование", g.Name)
	w.unit(in, g.Unit)
	if len(g.GroupIDs) > 0 {
		w.printf("%s<Группы>\n", in)
		for _, id := range g.GroupIDs {
			w.text(in+"\t", "Ид", id)
		}
		w.printf("%s</Группы>\n", in)
	}
	w.text(in, "Описание", g.Description)
	for _, p := range g.Pictures {
		w.text(in, "Картинка", p)
	}
	if len(g.Taxes) > 0 {
		w.printf("%s<СтавкиНалогов>\n", in)
		for _, t := range g.Taxes {
			w.printf("%s\t<СтавкаНалога>\n", in)
			w.text(in+"\t\t", "Наименование", t.Name)
			w.text(in+"\t\t", "Ставка", t.Rate)
			w.printf("%s\t</СтавкаНалога>\n", in)
		}
		w.printf("%s</СтавкиНалогов>\n", in)
	}
	w.requisites(in, g.Requisites)
	w.printf("\t\t\t</Товар>\n")
	return w.err
}

// Close ends the document and flushes it.
func (w *CatalogWriter) Close() error { return w.end("\t\t</Товары>\n\t</Каталог>\n") }

// OffersWriter writes a "Пакет предложений" document (offers.xml): the
// price types, then the offers one at a time.
type OffersWriter struct {
	*docWriter
	version string
}

// NewOffersWriter starts an offers.xml for the catalog with the given
// price types.
func NewOffersWriter(w io.Writer, enc Encoding, version string, at time.Time, pkg Offers, types []PriceType) (*OffersWriter, error) {
	if err := CheckVersion(version); err != nil {
		return nil, fmt.Errorf("commerceml: %w", err)
	}
	ow := &OffersWriter{docWriter: newDocWriter(w, enc), version: version}
	ow.root(enc, version, at)
	ow.printf("\t<ПакетПредложений СодержитТолькоИзменения=\"%t\">\n", pkg.OnlyChanges)
	ow.text("\t\t", "Ид", pkg.ID)
	ow.text("\t\t", "Наименование", pkg.Name)
	ow.text("\t\t", "ИдКаталога", pkg.CatalogID)
	ow.text("\t\t", "ИдКлассификатора", pkg.ClassifierID)
	ow.owner("\t\t", pkg.Owner)
	if len(types) > 0 {
		ow.printf("\t\t<ТипыЦен>\n")
		for _, t := range types {
			ow.printf("\t\t\t<ТипЦены>\n")
			ow.text("\t\t\t\t", "Ид", t.ID)
			ow.text("\t\t\t\t", "Наименование", t.Name)
			ow.text("\t\t\t\t", "Валюта", t.Currency)
			ow.printf("\t\t\t</ТипЦены>\n")
		}
		ow.printf("\t\t</ТипыЦен>\n")
	}
	ow.printf("\t\t<Предложения>\n")
	return ow, ow.err
}

// Offer writes one <Предложение>: a good's or a variant's ("<good>#<id>")
// characteristics, prices, total quantity and stock per warehouse.
func (w *OffersWriter) Offer(o *Offer) error {
	in := "\t\t\t\t"
	w.printf("\t\t\t<Предложение>\n")
	w.text(in, "Ид", o.ID)
	w.text(in, "Артикул", o.Article)
	w.text(in, "Наименование", o.Name)
	w.unit(in, o.Unit)
	for _, p := range o.Pictures {
		w.text(in, "Картинка", p)
	}
	if len(o.Characteristics) > 0 {
		w.printf("%s<ХарактеристикиТовара>\n", in)
		for _, c := range o.Characteristics {
			w.printf("%s\t<ХарактеристикаТовара>\n", in)
			w.text(in+"\t\t", "Наименование", c.Name)
			w.text(in+"\t\t", "Значение", c.Value)
			w.printf("%s\t</ХарактеристикаТовара>\n", in)
		}
		w.printf("%s</ХарактеристикиТовара>\n", in)
	}
	if len(o.Prices) > 0 {
		w.printf("%s<Цены>\n", in)
		offerUnit := PriceUnit(w.version, o.Unit) // once an offer, not a price
		for _, p := range o.Prices {
			w.printf("%s\t<Цена>\n", in)
			w.text(in+"\t\t", "ИдТипаЦены", p.TypeID)
			w.text(in+"\t\t", "ЦенаЗаЕдиницу", p.PerUnit)
			w.text(in+"\t\t", "Валюта", p.Currency)
			unit := p.Unit
			if unit == "" {
				unit = offerUnit
			}
			w.text(in+"\t\t", "Единица", unit)
			w.printf("%s\t\t<Коэффициент>1</Коэффициент>\n%s\t</Цена>\n", in, in)
		}
		w.printf("%s</Цены>\n", in)
	}
	if o.Quantity != nil {
		w.text(in, "Количество", *o.Quantity)
	}
	for _, s := range o.Stores {
		w.printf("%s<Склад ИдСклада=\"%s\" КоличествоНаСкладе=\"%s\"/>\n", in, w.attrText(s.ID), w.attrText(s.Quantity))
	}
	w.printf("\t\t\t</Предложение>\n")
	return w.err
}

// PriceUnit is what a price's <Единица> says of unit u in a document of
// the given version. The official schemas of 2.08 and 2.10 type it
// ЕдиницаТип, the ОКЕИ code ("796"; 3–4 characters), which is what the
// site modules read (Bitrix takes the code's number to find the
// product's measure): from 2.08 on it is the code — the product's own,
// else the one its name has in the ОКЕИ table — and nothing when the unit
// has none (the offer's БазоваяЕдиница still names it). Before 2.08 it is
// the short name ("шт"), as 1C wrote its 2.0x offers.
func PriceUnit(version string, u Unit) string {
	r := u.Resolved()
	if version >= "2.08" {
		code := strings.TrimSpace(r.Code)
		if n := len(code); n < 3 || n > 4 || strings.Trim(code, "0123456789") != "" {
			return ""
		}
		return code
	}
	return crm.FirstText(r.Short, r.FullName, r.Code)
}

// Close ends the document and flushes it.
func (w *OffersWriter) Close() error {
	return w.end("\t\t</Предложения>\n\t</ПакетПредложений>\n")
}
