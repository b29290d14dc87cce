package commerceml

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/text/transform"
)

// OrdersWriter writes an orders document one <Документ> at a time.
type OrdersWriter struct {
	bw        *bufio.Writer
	enc       io.Writer // the charset encoder over the destination
	version   string
	container bool // 2.08+ wraps each document in <Контейнер>
	err       error
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
	ow := &OrdersWriter{enc: encoder(enc, w), version: version, container: version >= "2.08"}
	ow.bw = bufio.NewWriterSize(ow.enc, 32<<10)
	ow.printf("<?xml version=\"1.0\" encoding=\"%s\"?>\n", enc)
	ow.printf("<%s ВерсияСхемы=\"%s\" ДатаФормирования=\"%s\">\n", RootElement, version, at.Format("2006-01-02T15:04:05"))
	return ow, ow.err
}

func (w *OrdersWriter) printf(format string, args ...any) {
	if w.err == nil {
		_, w.err = fmt.Fprintf(w.bw, format, args...)
	}
}

func (w *OrdersWriter) text(indent, name, v string) {
	if v == "" {
		return
	}
	w.printf("%s<%s>", indent, name)
	if w.err == nil {
		w.err = xml.EscapeText(w.bw, []byte(v))
	}
	w.printf("</%s>\n", name)
}

func (w *OrdersWriter) requisites(indent string, rs []Requisite) {
	if len(rs) == 0 {
		return
	}
	w.printf("%s<ЗначенияРеквизитов>\n", indent)
	for _, r := range rs {
		w.printf("%s\t<ЗначениеРеквизита>\n", indent)
		w.text(indent+"\t\t", "Наименование", r.Name)
		w.printf("%s\t\t<Значение>", indent)
		if w.err == nil {
			w.err = xml.EscapeText(w.bw, []byte(r.Value))
		}
		w.printf("</Значение>\n%s\t</ЗначениеРеквизита>\n", indent)
	}
	w.printf("%s</ЗначенияРеквизитов>\n", indent)
}

// Write adds one order.
func (w *OrdersWriter) Write(d *Document) error {
	in := "\t"
	if w.container {
		w.printf("\t<Контейнер>\n")
		in = "\t\t"
	}
	w.printf("%s<Документ>\n", in)
	i2 := in + "\t"
	w.text(i2, "Ид", d.ID)
	w.text(i2, "Номер", d.Number)
	w.text(i2, "Дата", d.Date)
	w.text(i2, "ХозОперация", d.Operation)
	w.text(i2, "Роль", d.Role)
	w.text(i2, "Валюта", d.Currency)
	w.text(i2, "Курс", d.Rate)
	w.text(i2, "Сумма", d.Sum)
	if len(d.Counterparties) > 0 {
		w.printf("%s<Контрагенты>\n", i2)
		for _, c := range d.Counterparties {
			i4 := i2 + "\t\t"
			w.printf("%s\t<Контрагент>\n", i2)
			w.text(i4, "Ид", c.ID)
			w.text(i4, "Наименование", c.Name)
			w.text(i4, "ПолноеНаименование", c.FullName)
			w.text(i4, "Роль", c.Role)
			w.text(i4, "ИНН", c.INN)
			w.text(i4, "КПП", c.KPP)
			if c.Address != "" {
				w.printf("%s<АдресРегистрации>\n", i4)
				w.text(i4+"\t", "Представление", c.Address)
				w.printf("%s</АдресРегистрации>\n", i4)
			}
			w.printf("%s\t</Контрагент>\n", i2)
		}
		w.printf("%s</Контрагенты>\n", i2)
	}
	w.text(i2, "Время", d.Time)
	w.text(i2, "Комментарий", d.Comment)
	if len(d.Items) > 0 {
		w.printf("%s<Товары>\n", i2)
		for _, it := range d.Items {
			i4 := i2 + "\t\t"
			w.printf("%s\t<Товар>\n", i2)
			w.text(i4, "Ид", it.ID)
			w.text(i4, "Артикул", it.Article)
			w.text(i4, "Наименование", it.Name)
			w.text(i4, "БазоваяЕдиница", it.Unit)
			w.text(i4, "ЦенаЗаЕдиницу", it.Price)
			w.text(i4, "Количество", it.Quantity)
			w.text(i4, "Сумма", it.Sum)
			for _, t := range it.Taxes {
				w.printf("%s<Налоги>\n%s\t<Налог>\n", i4, i4)
				w.text(i4+"\t\t", "Наименование", t.Name)
				w.text(i4+"\t\t", "УчтеноВСумме", t.Included)
				w.text(i4+"\t\t", "Сумма", t.Sum)
				w.text(i4+"\t\t", "Ставка", t.Rate)
				w.printf("%s\t</Налог>\n%s</Налоги>\n", i4, i4)
			}
			w.requisites(i4, it.Requisites)
			w.printf("%s\t</Товар>\n", i2)
		}
		w.printf("%s</Товары>\n", i2)
	}
	w.requisites(i2, d.Requisites)
	w.printf("%s</Документ>\n", in)
	if w.container {
		w.printf("\t</Контейнер>\n")
	}
	return w.err
}

// Close ends the document and flushes it.
func (w *OrdersWriter) Close() error {
	w.printf("</%s>\n", RootElement)
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	// The windows-1251 encoder holds back a partial rune until closed; it
	// does not close the destination (which is not ours to close).
	if c, ok := w.enc.(*transform.Writer); ok && w.err == nil {
		w.err = c.Close()
	}
	return w.err
}

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
