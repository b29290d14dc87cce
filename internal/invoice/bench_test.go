package invoice

import (
	"fmt"
	"testing"
	"time"
)

func benchDoc(rows int) Doc {
	d := Doc{Number: "INV-000001", Date: "5 декабря 2026 г.", Currency: "RUB",
		Seller: Party{Name: "ООО «Обмен»", INN: "7736207543", KPP: "773601001", Address: "Москва, ул. Льва Толстого, 16",
			Bank: Bank{Name: "ПАО Сбербанк", BIK: "044525225", CorrAccount: "30101810400000000225", Account: "40702810938000000001"}},
		Buyer: Party{Name: "ООО «Ромашка»", INN: "7707083893", KPP: "770701001"}, VATLabel: "В том числе НДС", VAT: "16,67",
		Total: "120,00", Words: AmountInWords(12000), Count: "Всего наименований 2, на сумму 120,00 руб."}
	for i := range rows {
		d.Lines = append(d.Lines, Line{N: i + 1, Name: fmt.Sprintf("Товар номер %d с длинным названием, которое переносится на вторую строку", i+1),
			Quantity: "1", Unit: "шт", Price: "100,00", Sum: "100,00"})
	}
	return d
}

// go test -bench . -run XXX ./internal/invoice
func BenchmarkPDF(b *testing.B) {
	for _, rows := range []int{2, 100} {
		d := benchDoc(rows)
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			var n int
			for b.Loop() {
				out, err := PDF(d, time.Time{})
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.ReportMetric(float64(n), "bytes/pdf")
		})
	}
}

func BenchmarkPage(b *testing.B) {
	d := benchDoc(100)
	for b.Loop() {
		var w discard
		if err := page.Execute(&w, struct {
			Doc
			PDF string
		}{d, "x.pdf"}); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func BenchmarkAmountInWords(b *testing.B) {
	for b.Loop() {
		_ = AmountInWords(123456789012)
	}
}
