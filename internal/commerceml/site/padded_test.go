package site_test

import (
	"net/http/httptest"
	"testing"

	"github.com/obmen/obmen/internal/commerceml/site"
	"github.com/obmen/obmen/internal/store/storetest"
)

// A counterparty's name padded with spaces, or a blank ПолноеНаименование
// beside an ОфициальноеНаименование, is the same company as the plain
// name: two orders make one company, not two.
func TestPaddedCounterpartyIsOneCompany(t *testing.T) {
	in := start(t, storetest.OpenSQLite(t))
	doc := func(n, full, official string) string {
		return `<?xml version="1.0" encoding="windows-1251"?>
<КоммерческаяИнформация ВерсияСхемы="2.05" ДатаФормирования="2026-12-05T10:00:00">
<Документ><Ид>` + n + `</Ид><Номер>` + n + `</Номер><Дата>2026-12-05</Дата><ХозОперация>Заказ товара</ХозОперация><Роль>Продавец</Роль><Валюта>RUB</Валюта><Курс>1</Курс><Сумма>10.00</Сумма>
<Контрагенты><Контрагент><Ид>k` + n + `</Ид><Наименование>  </Наименование><ПолноеНаименование>` + full + `</ПолноеНаименование><ОфициальноеНаименование>` + official + `</ОфициальноеНаименование><Роль>Покупатель</Роль></Контрагент></Контрагенты>
<Товары><Товар><Ид>g1</Ид><Наименование>Дрель</Наименование><ЦенаЗаЕдиницу>10.00</ЦенаЗаЕдиницу><Количество>1</Количество><Сумма>10.00</Сумма></Товар></Товары></Документ>
</КоммерческаяИнформация>`
	}
	fake := &fakeSite{files: map[string]int{}, orders: doc("701", "  ООО Ромашка  ", "")}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	var s site.Settings
	if code := in.api("POST", "/api/v1/site-exchanges", site.Settings{URL: srv.URL + "/1c_exchange.php", Login: "admin", Password: "pw"}, &s); code != 201 {
		t.Fatalf("create: %d", code)
	}
	in.runOK(s.ID, site.KindOrders)
	fake.orders = doc("702", "   ", "ООО Ромашка")
	in.runOK(s.ID, site.KindOrders)
	var n int
	var title, full string
	if err := in.d.Read.QueryRow(`SELECT COUNT(*), MAX(title), MAX(full_name) FROM accounts WHERE deleted_at = 0`).Scan(&n, &title, &full); err != nil {
		t.Fatal(err)
	}
	if n != 1 || full != "ООО Ромашка" || title != "ООО Ромашка" {
		t.Fatalf("%d companies, the last %q / %q; want one, ООО Ромашка", n, title, full)
	}
}
