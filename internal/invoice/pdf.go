package invoice

import (
	"bytes"
	"fmt"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
)

// PDF draws the invoice on an A4 page (more when the rows need them).
// The Go fonts, embedded in the binary, carry Cyrillic: no font file is
// read from disk. made is the document's creation time in its metadata.
func PDF(d Doc, made time.Time) ([]byte, error) {
	p := fpdf.New("P", "mm", "A4", "")
	p.AddUTF8FontFromBytes("go", "", goregular.TTF)
	p.AddUTF8FontFromBytes("go", "B", gobold.TTF)
	p.SetTitle("Счёт на оплату № "+d.Number+" от "+d.Date, true)
	p.SetCreator("Obmen", true)
	p.SetCreationDate(made)
	p.SetModificationDate(made)
	p.SetMargins(15, 15, 15)
	p.SetAutoPageBreak(true, 15)
	p.AddPage()
	const w = 180.0 // the width inside the margins

	// The bank block, as on a payment order.
	s := d.Seller
	p.SetFont("go", "", 9)
	y := p.GetY()
	p.MultiCell(100, 5, orDash(s.Bank.Name)+"\nБанк получателя", "1", "L", false)
	h := p.GetY() - y
	p.SetXY(115, y)
	p.CellFormat(15, h/2, "БИК", "1", 0, "L", false, 0, "")
	p.CellFormat(65, h/2, s.Bank.BIK, "1", 2, "L", false, 0, "")
	p.SetXY(115, y+h/2)
	p.CellFormat(15, h/2, "Сч. №", "1", 0, "L", false, 0, "")
	p.CellFormat(65, h/2, s.Bank.CorrAccount, "1", 1, "L", false, 0, "")
	y = p.GetY()
	p.CellFormat(50, 5, "ИНН "+s.INN, "1", 0, "L", false, 0, "")
	p.CellFormat(50, 5, "КПП "+s.KPP, "1", 2, "L", false, 0, "")
	p.SetX(15)
	p.MultiCell(100, 5, orDash(s.Name)+"\nПолучатель", "1", "L", false)
	h = p.GetY() - y
	p.SetXY(115, y)
	p.CellFormat(15, h, "Сч. №", "1", 0, "L", false, 0, "")
	p.CellFormat(65, h, s.Bank.Account, "1", 1, "L", false, 0, "")

	p.Ln(6)
	p.SetFont("go", "B", 14)
	p.MultiCell(w, 7, "Счёт на оплату № "+d.Number+" от "+d.Date, "B", "L", false)
	p.Ln(3)
	party := func(label string, pt Party) {
		p.SetFont("go", "", 9)
		p.CellFormat(40, 5, label, "", 0, "L", false, 0, "")
		p.SetFont("go", "B", 9)
		p.MultiCell(w-40, 5, partyLine(pt), "", "L", false)
		p.Ln(2)
	}
	party("Поставщик (исполнитель):", d.Seller)
	party("Покупатель (заказчик):", d.Buyer)

	// The rows.
	cols := []struct {
		title string
		w     float64
		align string
	}{{"№", 10, "R"}, {"Товары (работы, услуги)", 85, "L"}, {"Кол-во", 18, "R"}, {"Ед.", 12, "L"}, {"Цена", 27, "R"}, {"Сумма", 28, "R"}}
	p.SetFont("go", "B", 9)
	for i, c := range cols {
		ln := 0
		if i == len(cols)-1 {
			ln = 1
		}
		p.CellFormat(c.w, 6, c.title, "1", ln, "C", false, 0, "")
	}
	p.SetFont("go", "", 9)
	for _, l := range d.Lines {
		cells := []string{fmt.Sprint(l.N), l.Name, l.Quantity, l.Unit, l.Price, l.Sum}
		lines := p.SplitText(l.Name, cols[1].w-2)
		rh := 5 * float64(max(len(lines), 1))
		if p.GetY()+rh > 297-15 {
			p.AddPage()
		}
		x, y := p.GetX(), p.GetY()
		for i, c := range cols {
			if i == 1 {
				p.MultiCell(c.w, 5, cells[i], "", c.align, false)
				p.Rect(x, y, c.w, rh, "D")
				p.SetXY(x+c.w, y)
			} else {
				p.CellFormat(c.w, rh, cells[i], "1", 0, c.align, false, 0, "")
			}
			x += c.w
		}
		p.SetXY(15, y+rh)
	}
	p.Ln(2)
	total := func(label, value string) {
		p.SetFont("go", "B", 9)
		p.CellFormat(w-35, 5, label, "", 0, "R", false, 0, "")
		p.CellFormat(35, 5, value, "", 1, "R", false, 0, "")
	}
	total("Итого:", d.Total)
	total(d.VATLabel+":", d.VAT)
	total("Всего к оплате:", d.Total)
	p.Ln(3)
	p.SetFont("go", "", 9)
	p.MultiCell(w, 5, d.Count, "", "L", false)
	p.SetFont("go", "B", 10)
	p.MultiCell(w, 5, d.Words, "", "L", false)
	if d.PaymentURL != "" {
		p.SetFont("go", "", 8)
		p.MultiCell(w, 4, "Оплатить: "+d.PaymentURL, "", "L", false)
	}
	p.Ln(12)
	p.SetFont("go", "", 9)
	p.CellFormat(w/2, 5, "Руководитель ____________________", "", 0, "L", false, 0, "")
	p.CellFormat(w/2, 5, "Бухгалтер ____________________", "", 1, "R", false, 0, "")
	if err := p.Error(); err != nil {
		return nil, fmt.Errorf("invoice: pdf of %s: %w", d.Number, err)
	}
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		return nil, fmt.Errorf("invoice: pdf of %s: %w", d.Number, err)
	}
	return b.Bytes(), nil
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// partyLine is a seller or a buyer on one line, as the HTML page writes
// it.
func partyLine(pt Party) string {
	var b bytes.Buffer
	b.WriteString(orDash(pt.Name))
	add := func(prefix, v string) {
		if v != "" {
			b.WriteString(", " + prefix + v)
		}
	}
	add("ИНН ", pt.INN)
	add("КПП ", pt.KPP)
	add("", pt.Address)
	add("контактное лицо: ", pt.Contact)
	add("тел.: ", pt.Phone)
	add("", pt.Email)
	if pt.Bank.Account != "" {
		b.WriteString(", р/с " + pt.Bank.Account + " в " + pt.Bank.Name + ", БИК " + pt.Bank.BIK + ", к/с " + pt.Bank.CorrAccount)
	}
	return b.String()
}
