package commerceml

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

// Namespace is the target namespace of the official CommerceML 2 schemas
// (2.03 to 2.10 share it). 1C's own exports declare it as the default
// namespace, and so does every document Obmen writes.
const Namespace = "urn:1C.ru:commerceml_2"

// OrdersWriter writes an orders document one <Документ> at a time, in
// the element order of the official schema: <Документ> directly under the
// root (the schemas of 2.03 to 2.10 have no <Контейнер>; that is 3.x).
type OrdersWriter struct {
	*docWriter
	version string
}

// DefaultEncoding is the encoding written for a schema version when the
// node does not name one: windows-1251 up to 2.05, UTF-8 from 2.07.
func DefaultEncoding(version string) Encoding {
	if version != "" && version < "2.07" {
		return Windows1251
	}
	return UTF8
}

// NewOrdersWriter starts a document of the given schema version in enc.
func NewOrdersWriter(w io.Writer, enc Encoding, version string, at time.Time) (*OrdersWriter, error) {
	if version == "" {
		version = "2.04"
	}
	if err := CheckVersion(version); err != nil {
		return nil, fmt.Errorf("commerceml: %w", err)
	}
	ow := &OrdersWriter{docWriter: newDocWriter(w, enc), version: version}
	ow.keepSpace = true
	ow.root(enc, version, at)
	return ow, ow.err
}

func (w *OrdersWriter) attr(name, v string) {
	if v = strings.TrimSpace(v); v != "" {
		w.printf(" %s=\"", name)
		w.escape(v)
		w.printf("\"")
	}
}

// counterparty writes one <Контрагент>: a company with the schema's
// РеквизитыЮрЛица (ОфициальноеНаименование, ЮридическийАдрес, ИНН, КПП),
// a person with РеквизитыФизЛица (ПолноеНаименование, ИНН,
// АдресРегистрации); the role comes after them.
func (w *OrdersWriter) counterparty(in string, c *Counterparty) {
	w.printf("%s<Контрагент>\n", in)
	i2 := in + "\t"
	w.text(i2, "Ид", c.ID)
	w.text(i2, "Наименование", c.Name)
	address := func(name, v string) {
		if v != "" {
			w.printf("%s<%s>\n", i2, name)
			w.text(i2+"\t", "Представление", v)
			w.printf("%s</%s>\n", i2, name)
		}
	}
	if c.IsLegal() {
		w.text(i2, "ОфициальноеНаименование", crm.FirstText(c.OfficialName, c.FullName, c.Name))
		address("ЮридическийАдрес", crm.FirstText(c.LegalAddress, c.Address))
		w.text(i2, "ИНН", c.INN)
		w.text(i2, "КПП", c.KPP)
	} else {
		w.text(i2, "ПолноеНаименование", crm.FirstText(c.FullName, c.Name, c.OfficialName))
		w.text(i2, "ИНН", c.INN)
		w.text(i2, "КПП", c.KPP)
		address("АдресРегистрации", crm.FirstText(c.Address, c.LegalAddress))
	}
	w.text(i2, "Роль", c.Role)
	w.printf("%s</Контрагент>\n", in)
}

// item writes one line: the good's part of the schema's type Товар
// (Ид … БазоваяЕдиница, ХарактеристикиТовара, ЗначенияРеквизитов) first,
// then the line's own (ИдКаталога, ЦенаЗаЕдиницу, Количество, Сумма,
// Налоги, Скидки).
func (w *OrdersWriter) item(in string, it *Item) {
	w.printf("%s<Товар>\n", in)
	i2 := in + "\t"
	w.text(i2, "Ид", it.ID)
	w.text(i2, "Штрихкод", it.Barcode)
	w.text(i2, "Артикул", it.Article)
	w.text(i2, "Наименование", it.Name)
	// БазоваяЕдиница is required by the schema, text or not.
	w.printf("%s<БазоваяЕдиница", i2)
	w.attr("Код", it.BaseUnit.Code)
	w.attr("НаименованиеПолное", it.BaseUnit.FullName)
	w.attr("МеждународноеСокращение", it.BaseUnit.Intl)
	w.printf(">")
	w.escape(crm.FirstText(it.Unit, it.BaseUnit.Text))
	w.printf("</БазоваяЕдиница>\n")
	if len(it.Characteristics) > 0 {
		w.printf("%s<ХарактеристикиТовара>\n", i2)
		for _, c := range it.Characteristics {
			w.printf("%s\t<ХарактеристикаТовара>\n", i2)
			w.text(i2+"\t\t", "Ид", c.ID)
			w.text(i2+"\t\t", "Наименование", c.Name)
			w.printf("%s\t\t<Значение>", i2)
			w.escape(c.Value)
			w.printf("</Значение>\n%s\t</ХарактеристикаТовара>\n", i2)
		}
		w.printf("%s</ХарактеристикиТовара>\n", i2)
	}
	w.requisites(i2, it.Requisites)
	w.text(i2, "ИдКаталога", it.CatalogID)
	w.text(i2, "ЦенаЗаЕдиницу", it.Price)
	w.text(i2, "Количество", it.Quantity)
	w.text(i2, "Сумма", it.Sum)
	taxes := make([][][2]string, len(it.Taxes))
	for i, t := range it.Taxes {
		taxes[i] = [][2]string{{"Наименование", t.Name}, {"УчтеноВСумме", t.Included}, {"Сумма", t.Sum}, {"Ставка", t.Rate}}
	}
	w.list(i2, "Налоги", "Налог", taxes)
	discounts := make([][][2]string, len(it.Discounts))
	for i, d := range it.Discounts {
		discounts[i] = [][2]string{{"Наименование", d.Name}, {"Сумма", d.Sum}, {"Процент", d.Percent}, {"УчтеноВСумме", d.Included}}
	}
	w.list(i2, "Скидки", "Скидка", discounts)
	w.printf("%s</Товар>\n", in)
}

// Write adds one order. The schema requires at least one counterparty;
// the caller gives one.
func (w *OrdersWriter) Write(d *Document) error {
	if len(d.Counterparties) == 0 {
		return fmt.Errorf("commerceml: order %s: no counterparty (the schema requires one)", d.Number)
	}
	const in, i2 = "\t", "\t\t"
	w.printf("%s<Документ>\n", in)
	w.text(i2, "Ид", d.ID)
	w.text(i2, "Номер", d.Number)
	w.text(i2, "Дата", d.Date)
	w.text(i2, "ХозОперация", d.Operation)
	w.text(i2, "Роль", d.Role)
	w.text(i2, "Валюта", d.Currency)
	w.text(i2, "Курс", d.Rate)
	w.text(i2, "Сумма", d.Sum)
	w.printf("%s<Контрагенты>\n", i2)
	for i := range d.Counterparties {
		w.counterparty(i2+"\t", &d.Counterparties[i])
	}
	w.printf("%s</Контрагенты>\n", i2)
	w.text(i2, "Время", d.Time)
	w.text(i2, "Комментарий", d.Comment)
	if len(d.Items) > 0 {
		w.printf("%s<Товары>\n", i2)
		for i := range d.Items {
			w.item(i2+"\t", &d.Items[i])
		}
		w.printf("%s</Товары>\n", i2)
	}
	w.requisites(i2, d.Requisites)
	w.printf("%s</Документ>\n", in)
	return w.err
}

// Close ends the document and flushes it.
func (w *OrdersWriter) Close() error { return w.end("") }

// FormatDecimal writes minor units with the given number of fractional
// digits the way 1C reads them: "1234.50", "-0.001".
func FormatDecimal(v int64, digits int) string {
	neg := v < 0
	if neg {
		v = -v
	}
	s := fmt.Sprintf("%0*d", digits+1, v)
	out := s[:len(s)-digits]
	if digits > 0 {
		out += "." + s[len(s)-digits:]
	}
	if neg {
		out = "-" + out
	}
	return strings.TrimSpace(out)
}

// list writes <outer> with one <inner> per entry, each entry's elements
// in order (w.text leaves out the empty ones); nothing when entries is
// empty.
func (w *docWriter) list(in, outer, inner string, entries [][][2]string) {
	if len(entries) == 0 {
		return
	}
	w.printf("%s<%s>\n", in, outer)
	for _, e := range entries {
		w.printf("%s\t<%s>\n", in, inner)
		for _, kv := range e {
			w.text(in+"\t\t", kv[0], kv[1])
		}
		w.printf("%s\t</%s>\n", in, inner)
	}
	w.printf("%s</%s>\n", in, outer)
}
