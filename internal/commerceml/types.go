package commerceml

import "strings"

// Header is the root element's attributes.
type Header struct {
	Version string // ВерсияСхемы, e.g. "2.04"
	Date    string // ДатаФормирования as written
}

// Group is one group of the classifier; ParentID is "" at the top.
type Group struct {
	ID, Name, ParentID string
	Line               int
}

// Catalog is the header of <Каталог>, read before its goods.
type Catalog struct {
	ID, ClassifierID, Name string
	OnlyChanges            bool // СодержитТолькоИзменения
	Line                   int
	// Owner is written as the <Владелец> of the classifier and of the
	// catalog (the reader leaves it empty, and staging does not keep it).
	Owner Owner `json:"-"`
}

// Owner is the <Владелец> of a classifier, a catalog or an offers
// package: the company that publishes them, a Контрагент in 1C's schema
// (required there in all three). An organisation is written with the
// schema's РеквизитыЮрЛица (ОфициальноеНаименование, ЮридическийАдрес,
// ИНН, КПП, ОКПО), a person (an ИП) with РеквизитыФизЛица
// (ПолноеНаименование, Фамилия, Имя, Отчество, ИНН) — in the schema's
// order, which 2.03 to 2.10 share.
type Owner struct {
	ID, Name string
	// OfficialName is an organisation's full name (ОфициальноеНаименование);
	// for a person, the full name (ПолноеНаименование).
	OfficialName string
	Person       bool
	LastName     string
	FirstName    string
	MiddleName   string
	Address      string // ЮридическийАдрес/Представление (organisations)
	INN, KPP     string
	OKPO         string
}

// IsZero reports whether no owner is given.
func (o Owner) IsZero() bool { return o.ID == "" && o.Name == "" && o.OfficialName == "" }

// Requisite is one ЗначениеРеквизита.
type Requisite struct {
	Name  string `xml:"Наименование"`
	Value string `xml:"Значение"`
}

// TaxRate is one СтавкаНалога of a good.
type TaxRate struct {
	Name string `xml:"Наименование"`
	Rate string `xml:"Ставка"`
}

// Good is one <Товар> of a catalog: a product or, by its requisites, a
// service.
type Good struct {
	ID          string `xml:"Ид"`
	Article     string `xml:"Артикул"`
	Name        string `xml:"Наименование"`
	Unit        Unit   `xml:"БазоваяЕдиница"`
	Description string `xml:"Описание"`
	// Pictures are the good's <Картинка> paths, as the exchange's files
	// are named ("import_files/ab/abcdef.jpg"), the first the main one.
	Pictures   []string    `xml:"Картинка"`
	GroupIDs   []string    `xml:"Группы>Ид"`
	Taxes      []TaxRate   `xml:"СтавкиНалогов>СтавкаНалога"`
	Requisites []Requisite `xml:"ЗначенияРеквизитов>ЗначениеРеквизита"`
	Status     string      `xml:"Статус"`
	DeleteMark string      `xml:"ПометкаУдаления,attr"`
	Line       int         `xml:"-"`
}

// Requisite returns the value of the named requisite, "" when absent.
func requisite(rs []Requisite, name string) (string, bool) {
	for _, r := range rs {
		if strings.EqualFold(strings.TrimSpace(r.Name), name) {
			return strings.TrimSpace(r.Value), true
		}
	}
	return "", false
}

// IsService tells a service from a product: 1C marks it with the
// requisite ВидНоменклатуры or ТипНоменклатуры "Услуга".
func (g *Good) IsService() bool {
	for _, n := range []string{"ВидНоменклатуры", "ТипНоменклатуры"} {
		if v, ok := requisite(g.Requisites, n); ok && strings.EqualFold(v, "Услуга") {
			return true
		}
	}
	return false
}

// VAT is the НДС rate of a good as written ("18", "20", "без НДС"), "" if none.
func (g *Good) VAT() string { return vatOf(g.Taxes) }

func vatOf(ts []TaxRate) string {
	for _, t := range ts {
		if strings.EqualFold(strings.TrimSpace(t.Name), "НДС") {
			return strings.TrimSpace(t.Rate)
		}
	}
	return ""
}

// Offers is the header of <ПакетПредложений>.
type Offers struct {
	ID, CatalogID, ClassifierID, Name string
	OnlyChanges                       bool
	Line                              int
	Owner                             Owner `json:"-"` // written as its <Владелец>; not read
}

// PriceType is one <ТипЦены>.
type PriceType struct {
	ID       string `xml:"Ид"`
	Name     string `xml:"Наименование"`
	Currency string `xml:"Валюта"`
	Tax      []struct {
		Name     string `xml:"Наименование"`
		Included string `xml:"УчтеноВСумме"`
	} `xml:"Налог"`
	Line int `xml:"-"`
}

// TaxIncluded reports whether VAT is inside the price of this type
// (1C's default when it does not say).
func (p *PriceType) TaxIncluded() bool {
	for _, t := range p.Tax {
		if strings.EqualFold(strings.TrimSpace(t.Name), "НДС") {
			return strings.TrimSpace(t.Included) != "false"
		}
	}
	return true
}

// Price is one <Цена> of an offer.
type Price struct {
	TypeID   string `xml:"ИдТипаЦены"`
	PerUnit  string `xml:"ЦенаЗаЕдиницу"`
	Currency string `xml:"Валюта"`
	Unit     string `xml:"Единица"`
}

// Offer is one <Предложение>: price and stock of a good. Fields 1C left
// out (prices in a rests file, stock in a prices file) stay nil/empty so
// that the importer changes only what was sent.
type Offer struct {
	ID       string  `xml:"Ид"`
	Article  string  `xml:"Артикул"`
	Name     string  `xml:"Наименование"`
	Unit     Unit    `xml:"БазоваяЕдиница"`
	Prices   []Price `xml:"Цены>Цена"`
	Quantity *string `xml:"Количество"`
	// Stock per warehouse before 2.08: <Склад ИдСклада="…"
	// КоличествоНаСкладе="…"/> (УТ 11 writes an empty quantity for none).
	Stores []StoreStock `xml:"Склад"`
	// Rests of 2.08+: <Остатки><Остаток><Количество> or per warehouse
	// <Склад><Ид><Количество>.
	Rests []struct {
		Quantity   *string         `xml:"Количество"`
		Warehouses []WarehouseRest `xml:"Склад"`
	} `xml:"Остатки>Остаток"`
	// Pictures of a variant (УТ 11 writes a characteristic's pictures
	// in its offer), as the exchange's files name them.
	Pictures []string `xml:"Картинка" json:",omitempty"`
	// Characteristics of a variant (an offer with a "#" id).
	Characteristics []Requisite `xml:"ХарактеристикиТовара>ХарактеристикаТовара"`
	Line            int         `xml:"-"`
}

// StoreStock is the attribute form of an offer's stock in a warehouse.
type StoreStock struct {
	ID       string `xml:"ИдСклада,attr"`
	Quantity string `xml:"КоличествоНаСкладе,attr"`
}

// WarehouseRest is the 2.08+ form of an offer's stock in a warehouse.
type WarehouseRest struct {
	ID       string `xml:"Ид"`
	Quantity string `xml:"Количество"`
}

// IsVariant reports whether the offer is for a characteristic of its
// good ("<good>#<characteristic>").
func (o *Offer) IsVariant() bool {
	_, c, ok := strings.Cut(strings.TrimSpace(o.ID), "#")
	return ok && c != ""
}

// GoodID is the id of the good an offer is for: 1C writes
// "<good>#<characteristic>" for characteristics.
func (o *Offer) GoodID() string {
	id, _, _ := strings.Cut(strings.TrimSpace(o.ID), "#")
	return id
}

// Counterparty is a <Контрагент> of an order.
type Counterparty struct {
	ID       string `xml:"Ид"`
	Name     string `xml:"Наименование"`
	FullName string `xml:"ПолноеНаименование"`
	Role     string `xml:"Роль"`
	INN      string `xml:"ИНН"`
	KPP      string `xml:"КПП"`
	Address  string `xml:"АдресРегистрации>Представление"`
	// OfficialName and LegalAddress are a legal entity's (the schema's
	// РеквизитыЮрЛица); ПолноеНаименование and АдресРегистрации are a
	// person's. 1C and Bitrix write either.
	OfficialName string `xml:"ОфициальноеНаименование"`
	LegalAddress string `xml:"ЮридическийАдрес>Представление"`
}

// IsLegal tells a company (written with ОфициальноеНаименование, ИНН
// and КПП) from a person.
func (c *Counterparty) IsLegal() bool {
	return strings.TrimSpace(c.OfficialName) != "" || strings.TrimSpace(c.KPP) != ""
}

// ItemTax is one <Налог> of an order line.
type ItemTax struct {
	Name     string `xml:"Наименование"`
	Included string `xml:"УчтеноВСумме"`
	Sum      string `xml:"Сумма"`
	Rate     string `xml:"Ставка"`
}

// UnitRef is a unit as 1C writes it on an order line: a text
// ("шт", or the ОКЕИ code "796" in <Единица> of 2.09+) and, from 2.05 on,
// attributes — often with no text at all.
type UnitRef struct {
	Code     string `xml:"Код,attr"`
	FullName string `xml:"НаименованиеПолное,attr"`
	Short    string `xml:"НаименованиеКраткое,attr"`
	Intl     string `xml:"МеждународноеСокращение,attr"`
	Text     string `xml:",chardata"`
}

// Name is the unit as a person reads it: the text unless it is only the
// code, else the short, full or international name, else the code.
func (u *UnitRef) Name() string {
	text := strings.TrimSpace(u.Text)
	code := strings.TrimSpace(u.Code)
	if text != "" && !(isDigits(text) && (code == "" || code == text)) {
		return text
	}
	for _, v := range []string{u.Short, u.FullName, u.Intl} {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	if text != "" {
		return text
	}
	return code
}

// OKEI is the unit's ОКЕИ code: the attribute, or a text of digits.
func (u *UnitRef) OKEI() string {
	if c := strings.TrimSpace(u.Code); c != "" {
		return c
	}
	if t := strings.TrimSpace(u.Text); isDigits(t) {
		return t
	}
	return ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Characteristic is one <ХарактеристикаТовара> (size, colour) of a line
// or an offer.
type Characteristic struct {
	ID    string `xml:"Ид"`
	Name  string `xml:"Наименование"`
	Value string `xml:"Значение"`
}

// LinePrice is the <Цена> some 1C configurations write on an order line
// instead of ЦенаЗаЕдиницу: a number, or the structure of an offer's price.
type LinePrice struct {
	PerUnit string  `xml:"ЦенаЗаЕдиницу"`
	Unit    UnitRef `xml:"Единица"`
	Text    string  `xml:",chardata"`
}

// Item is one <Товар> of an order. After reading, Unit and Price hold
// what the line says whichever shape it came in (see Document.normalize).
type Item struct {
	ID              string           `xml:"Ид"`
	Barcode         string           `xml:"Штрихкод"`
	Article         string           `xml:"Артикул"`
	Name            string           `xml:"Наименование"`
	Unit            string           `xml:"-"`
	BaseUnit        UnitRef          `xml:"БазоваяЕдиница"`
	Characteristics []Characteristic `xml:"ХарактеристикиТовара>ХарактеристикаТовара"`
	CatalogID       string           `xml:"ИдКаталога"`
	Price           string           `xml:"ЦенаЗаЕдиницу"`
	LinePrice       *LinePrice       `xml:"Цена"`
	Quantity        string           `xml:"Количество"`
	Sum             string           `xml:"Сумма"`
	// LineUnit is <Единица> (2.09+): the unit of the quantity, an ОКЕИ
	// code or a name, with or without attributes.
	LineUnit   UnitRef     `xml:"Единица"`
	Factor     string      `xml:"Коэффициент"`
	Requisites []Requisite `xml:"ЗначенияРеквизитов>ЗначениеРеквизита"`
	Taxes      []ItemTax   `xml:"Налоги>Налог"`
	Discounts  []Discount  `xml:"Скидки>Скидка"`
	Rates      []TaxRate   `xml:"СтавкиНалогов>СтавкаНалога"`
}

// Discount is one <Скидка> of an order line: a sum, a percent or both;
// УчтеноВСумме tells whether the line's Сумма already has it taken off
// (1C and the shop modules write true).
type Discount struct {
	Name     string `xml:"Наименование"`
	Sum      string `xml:"Сумма"`
	Percent  string `xml:"Процент"`
	Included string `xml:"УчтеноВСумме"`
}

// GoodID is the 1C id of the good a line is for: 1C writes
// "<good>#<characteristic>" for a line with characteristics.
func (it *Item) GoodID() string {
	id, _, _ := strings.Cut(strings.TrimSpace(it.ID), "#")
	return id
}

// UnitCode is the ОКЕИ code of the line's unit, "" if not written.
func (it *Item) UnitCode() string {
	for _, u := range []*UnitRef{&it.BaseUnit, &it.LineUnit} {
		if c := u.OKEI(); c != "" {
			return c
		}
	}
	if it.LinePrice != nil {
		return it.LinePrice.Unit.OKEI()
	}
	return ""
}

// normalize fills Unit and Price from whichever element carried them:
// the unit is the first one named (БазоваяЕдиница, Единица, the unit of
// <Цена>), a bare ОКЕИ code only when none is.
func (it *Item) normalize() {
	units := []*UnitRef{&it.BaseUnit, &it.LineUnit}
	if it.LinePrice != nil {
		units = append(units, &it.LinePrice.Unit)
		if strings.TrimSpace(it.Price) == "" {
			it.Price = strings.TrimSpace(it.LinePrice.PerUnit)
			if it.Price == "" {
				it.Price = strings.TrimSpace(it.LinePrice.Text)
			}
		}
	}
	it.Price = strings.TrimSpace(it.Price)
	it.Unit = ""
	for _, u := range units {
		if n := u.Name(); n != "" && n != u.OKEI() {
			it.Unit = n
			return
		}
	}
	for _, u := range units {
		if n := u.Name(); n != "" {
			it.Unit = n
			return
		}
	}
}

// IsService tells a service line from a product line.
func (it *Item) IsService() bool {
	g := Good{Requisites: it.Requisites}
	return g.IsService()
}

// VAT is the НДС rate of the line, "" if none.
func (it *Item) VAT() string {
	for _, t := range it.Taxes {
		if strings.EqualFold(strings.TrimSpace(t.Name), "НДС") && strings.TrimSpace(t.Rate) != "" {
			return strings.TrimSpace(t.Rate)
		}
	}
	return vatOf(it.Rates)
}

// Document is one <Документ>: an order.
type Document struct {
	ID             string         `xml:"Ид"`
	Number         string         `xml:"Номер"`
	Date           string         `xml:"Дата"`
	Time           string         `xml:"Время"`
	Operation      string         `xml:"ХозОперация"`
	Role           string         `xml:"Роль"`
	Currency       string         `xml:"Валюта"`
	Rate           string         `xml:"Курс"`
	Sum            string         `xml:"Сумма"`
	Comment        string         `xml:"Комментарий"`
	Counterparties []Counterparty `xml:"Контрагенты>Контрагент"`
	Items          []Item         `xml:"Товары>Товар"`
	Requisites     []Requisite    `xml:"ЗначенияРеквизитов>ЗначениеРеквизита"`
	Line           int            `xml:"-"`
}

// normalize brings the shapes of 2.03–2.10 to one: see Item.normalize.
func (d *Document) normalize() {
	for i := range d.Items {
		d.Items[i].normalize()
	}
}

// Requisite returns a document requisite's value.
func (d *Document) Requisite(name string) (string, bool) { return requisite(d.Requisites, name) }

// Buyer is the counterparty in the role of buyer (or the first one).
func (d *Document) Buyer() *Counterparty {
	for i := range d.Counterparties {
		if strings.EqualFold(strings.TrimSpace(d.Counterparties[i].Role), "Покупатель") {
			return &d.Counterparties[i]
		}
	}
	if len(d.Counterparties) > 0 {
		return &d.Counterparties[0]
	}
	return nil
}
