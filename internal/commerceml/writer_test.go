package commerceml

import (
	"bytes"
	"io"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/commerceml/schematest"
)

func sampleOrder() *Document {
	return &Document{
		ID: "17", Number: "SO-17", Date: "2026-11-20", Time: "09:05:00", Operation: "Заказ товара", Role: "Продавец",
		Currency: "RUB", Rate: "1", Sum: "1200.00", Comment: "Позвонить <до> обеда & уточнить",
		Counterparties: []Counterparty{
			{ID: "cp-1", Name: "ИП Петров", FullName: "Индивидуальный предприниматель Петров П. П.", Role: "Покупатель", INN: "500100732259", Address: "г. Москва"},
			{ID: "cp-2", Name: "ООО \"Ромашка\"", OfficialName: "Общество с ограниченной ответственностью \"Ромашка\"", Role: "Плательщик",
				INN: "7707083893", KPP: "773601001", LegalAddress: "г. Москва, ул. Ленина, 1"},
		},
		Items: []Item{
			{ID: "g-1#c-1", Article: "A-1", Name: "Дрель", Unit: "шт", BaseUnit: UnitRef{Code: "796", FullName: "Штука", Intl: "PCE", Text: "шт"},
				Characteristics: []Characteristic{{ID: "c-1", Name: "Цвет", Value: "Красный"}, {Name: "Размер", Value: "XL"}},
				Price:           "1100.00", Quantity: "1", Sum: "1000.00",
				Taxes:      []ItemTax{{Name: "НДС", Included: "true", Sum: "166.67", Rate: "20"}},
				Discounts:  []Discount{{Name: "Скидка", Sum: "100.00", Percent: "9.09", Included: "true"}},
				Requisites: []Requisite{{"ВидНоменклатуры", "Товар"}}},
			{ID: "obmen-line-1", Name: "Монтаж", Unit: "ч", BaseUnit: UnitRef{Text: "ч"}, Price: "200.00", Quantity: "1", Sum: "200.00", Requisites: []Requisite{{"ВидНоменклатуры", "Услуга"}}},
		},
		Requisites: []Requisite{{"Статус заказа", "Approved"}, {"Номер по 1С", ""}},
	}
}

// Orders written in either encoding and version read back the same.
func TestOrdersWriterRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		enc     Encoding
		version string
	}{{Windows1251, "2.03"}, {Windows1251, "2.04"}, {Windows1251, "2.05"}, {UTF8, "2.07"}, {UTF8, "2.08"}, {UTF8, "2.09"}, {Windows1251, "2.10"}, {UTF8, "2.10"}} {
		var buf bytes.Buffer
		w, err := NewOrdersWriter(&buf, c.enc, c.version, at)
		if err != nil {
			t.Fatal(err)
		}
		want := sampleOrder()
		if err := w.Write(want); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if c.enc == Windows1251 && bytes.Contains(buf.Bytes(), []byte("Дрель")) {
			t.Fatalf("%s %s: output is not windows-1251", c.enc, c.version)
		}
		// The schemas of 2.x have no <Контейнер> (that is 3.x).
		if bytes.Contains(buf.Bytes(), []byte("Контейнер")) || bytes.Contains(buf.Bytes(), []byte("\xca\xee\xed\xf2\xe5\xe9\xed\xe5\xf0")) {
			t.Fatalf("%s: orders wrapped in <Контейнер>", c.version)
		}
		schematest.Validate(t, buf.Bytes())
		rd := NewReader(&buf, "orders.xml")
		v, err := rd.Next()
		if err != nil {
			t.Fatalf("%s %s: %v", c.enc, c.version, err)
		}
		got := v.(*Document)
		got.Line = 0
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s %s: read back\n%+v\nwant\n%+v", c.enc, c.version, got, want)
		}
		if _, err := rd.Next(); err != io.EOF {
			t.Errorf("after the document: %v", err)
		}
		if rd.Header.Version != c.version {
			t.Errorf("version %q", rd.Header.Version)
		}
	}
}

// An empty orders document is valid and not empty (1C treats an empty
// answer as an error).
func TestEmptyOrdersDocument(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w, _ := NewOrdersWriter(&buf, UTF8, "2.08", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	golden := "testdata/orders_empty.golden"
	if *update {
		_ = os.WriteFile(golden, buf.Bytes(), 0o644)
	}
	want, _ := os.ReadFile(golden)
	if buf.String() != string(want) {
		t.Fatalf("got\n%s", buf.String())
	}
	schematest.Validate(t, buf.Bytes())
	if _, err := NewReader(&buf, "").Next(); err != io.EOF {
		t.Fatalf("read back: %v", err)
	}
}

func TestFormatDecimal(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		v      int64
		digits int
		want   string
	}{{0, 2, "0.00"}, {5, 2, "0.05"}, {123450, 2, "1234.50"}, {-1, 3, "-0.001"}, {7, 0, "7"}} {
		if got := FormatDecimal(c.v, c.digits); got != c.want {
			t.Errorf("FormatDecimal(%d, %d) = %q, want %q", c.v, c.digits, got, c.want)
		}
	}
	if DefaultEncoding("2.04") != Windows1251 || DefaultEncoding("2.07") != UTF8 || DefaultEncoding("2.10") != UTF8 {
		t.Error("DefaultEncoding")
	}
}
