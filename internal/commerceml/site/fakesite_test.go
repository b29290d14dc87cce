package site_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/obmen/obmen/internal/commerceml/schematest"
	"github.com/obmen/obmen/internal/commerceml/site"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store/storetest"
	"golang.org/x/text/encoding/charmap"
)

// fakeSite answers like the popular site modules (Bitrix's
// 1c_exchange.php and the modules that copy it): a PHPSESSID cookie,
// zip=yes with a small file_limit, "progress" a few times before
// "success", windows-1251 answers, and a failure with its reason when
// told to.
type fakeSite struct {
	mu       sync.Mutex
	calls    []string
	files    map[string]int    // file name → bytes received
	got      map[string][]byte // type=sale file name → what was received
	chunks   int
	progress int    // "progress" answers before each import's success
	failWith string // the reason of a failure on mode=import
	expire   bool   // the session cookie expires after the first chunk
	cookie   string
	orders   string
}

func (f *fakeSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	mode := q.Get("mode")
	f.calls = append(f.calls, q.Get("type")+":"+mode)
	w.Header().Set("Content-Type", "text/plain; charset=windows-1251")
	say := func(s string) {
		b, _ := charmap.Windows1251.NewEncoder().String(s)
		_, _ = io.WriteString(w, b)
	}
	if mode == "checkauth" {
		if u, p, ok := r.BasicAuth(); !ok || u != "admin" || p != "pw" {
			say("failure\nНеверный логин или пароль")
			return
		}
		f.cookie = fmt.Sprintf("s%d", len(f.calls))
		say("success\nPHPSESSID\n" + f.cookie)
		return
	}
	if c, err := r.Cookie("PHPSESSID"); err != nil || c.Value != f.cookie {
		say("failure\nСессия истекла, авторизуйтесь заново")
		return
	}
	switch mode {
	case "init":
		say("zip=yes\nfile_limit=2048\n")
	case "file":
		b, _ := io.ReadAll(r.Body)
		f.files[q.Get("filename")] += len(b)
		if q.Get("type") == "sale" {
			if f.got == nil {
				f.got = map[string][]byte{}
			}
			f.got[q.Get("filename")] = append(f.got[q.Get("filename")], b...)
		}
		f.chunks++
		if f.expire {
			f.cookie = "expired"
		}
		say("success")
	case "import":
		if f.failWith != "" {
			say("failure\n" + f.failWith)
			return
		}
		if n := f.files["progress:"+q.Get("filename")]; n < f.progress {
			f.files["progress:"+q.Get("filename")]++
			say("progress\nОбработано товаров: " + fmt.Sprint(n+1))
			return
		}
		say("success\nИмпорт завершён")
	case "complete", "success":
		say("success")
	case "query":
		say(f.orders)
	default:
		say("failure\nнеизвестный режим")
	}
}

func TestFakeSite(t *testing.T) {
	in := start(t, storetest.OpenSQLite(t))
	var first crm.Product
	for i := range 40 {
		p, err := in.app.Store.CreateProduct(in.ctx, in.admin, crm.Product{Name: fmt.Sprintf("Товар %d с длинным названием для объёма", i), Price: 1000, Active: true})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = p
		}
	}
	fake := &fakeSite{files: map[string]int{}, progress: 3,
		orders: "<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<КоммерческаяИнформация ВерсияСхемы=\"2.05\" ДатаФормирования=\"2026-12-05T10:00:00\"></КоммерческаяИнформация>\n"}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	var s site.Settings
	if code := in.api("POST", "/api/v1/site-exchanges", site.Settings{URL: srv.URL + "/bitrix/admin/1c_exchange.php", Login: "admin", Password: "pw"}, &s); code != 201 {
		t.Fatalf("create: %d", code)
	}
	run := func(kind string) site.RunResult {
		t.Helper()
		var res site.RunResult
		if code := in.api("POST", fmt.Sprintf("/api/v1/site-exchanges/%d/run?kind=%s", s.ID, kind), nil, &res); code != 200 {
			t.Fatalf("run %s: %d %+v", kind, code, res)
		}
		return res
	}

	t.Run("zip in chunks, progress, complete", func(t *testing.T) {
		res := run(site.KindCatalog)
		if res.Status != "success" || fake.files["catalog.zip"] == 0 || fake.chunks < 2 {
			t.Fatalf("run: %+v, files %v, %d chunks", res, fake.files, fake.chunks)
		}
		calls := strings.Join(fake.calls, " ")
		if strings.Count(calls, "catalog:import") != 8 || !strings.HasSuffix(calls, "catalog:complete") {
			t.Errorf("calls: %s", calls)
		}
	})
	t.Run("failure with the site's reason", func(t *testing.T) {
		fake.failWith = "Ошибка импорта: нет свойства CML2_ARTICLE"
		defer func() { fake.failWith = "" }()
		res := run(site.KindCatalog)
		if res.Status != "failure" || !strings.Contains(res.Error, "нет свойства CML2_ARTICLE") {
			t.Errorf("run: %+v", res)
		}
		e, err := in.app.CommerceML.GetEntry(in.ctx, res.EntryID)
		if err != nil || e.Status != "failure" || !strings.Contains(e.Error, "CML2_ARTICLE") {
			t.Errorf("journal: %+v %v", e, err)
		}
	})
	t.Run("session expired mid-exchange", func(t *testing.T) {
		fake.expire = true
		defer func() { fake.expire = false }()
		res := run(site.KindCatalog)
		if res.Status != "failure" || !strings.Contains(res.Error, "Сессия истекла") {
			t.Errorf("run: %+v", res)
		}
	})
	t.Run("empty orders document", func(t *testing.T) {
		res := run(site.KindOrders)
		if res.Status != "success" || (res.Counts["sales_order"] != nil && res.Counts["sales_order"].Created != 0) {
			t.Errorf("run: %+v", res)
		}
		// The seed's sequence: the query, then mode=success confirming it.
		if calls := strings.Join(fake.calls, " "); !strings.Contains(calls, "sale:query sale:success") {
			t.Errorf("calls: %s", calls)
		}
	})
	t.Run("order lines back in the shape the modules read", func(t *testing.T) {
		// Bitrix's shape (2.05, windows-1251): the line names the good by
		// the Ид Obmen's catalog gave it, with a discount and VAT.
		fake.orders = `<?xml version="1.0" encoding="windows-1251"?>
<КоммерческаяИнформация ВерсияСхемы="2.05" ДатаФормирования="2026-12-05T10:00:00">
<Документ><Ид>501</Ид><Номер>501</Номер><Дата>2026-12-05</Дата><ХозОперация>Заказ товара</ХозОперация><Роль>Продавец</Роль><Валюта>RUB</Валюта><Курс>1</Курс><Сумма>18.00</Сумма>
<Контрагенты><Контрагент><Ид>7#Иван</Ид><Наименование>Иван Петров</Наименование><ПолноеНаименование>Иван Петров</ПолноеНаименование><Роль>Покупатель</Роль></Контрагент></Контрагенты>
<Товары><Товар><Ид>` + fmt.Sprintf("obmen-product-%d", first.ID) + `</Ид><Наименование>Товар 0</Наименование>
<БазоваяЕдиница Код="796" НаименованиеПолное="Штука" МеждународноеСокращение="PCE">шт</БазоваяЕдиница>
<ЦенаЗаЕдиницу>10.00</ЦенаЗаЕдиницу><Количество>2</Количество><Сумма>18.00</Сумма>
<Скидки><Скидка><Наименование>Скидка на товар</Наименование><Сумма>2.00</Сумма><УчтеноВСумме>true</УчтеноВСумме></Скидка></Скидки>
<Налоги><Налог><Наименование>НДС</Наименование><УчтеноВСумме>true</УчтеноВСумме><Сумма>3.00</Сумма><Ставка>20</Ставка></Налог></Налоги>
<ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>ВидНоменклатуры</Наименование><Значение>Товар</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>
</Товар></Товары></Документ>
</КоммерческаяИнформация>`
		if res := run(site.KindOrders); res.Status != "success" || res.Counts["sales_order"] == nil || res.Counts["sales_order"].Created != 1 {
			t.Fatalf("run: %+v", res)
		}
		var id int64
		if err := in.d.Read.QueryRowContext(in.ctx, "SELECT id FROM sales_orders WHERE from_site = '501'").Scan(&id); err != nil {
			t.Fatal(err)
		}
		if _, err := in.app.Store.UpdateSalesOrder(in.ctx, in.admin, id, func(o *crm.SalesOrder) error { o.Items[0].Quantity = 3000; return nil }); err != nil {
			t.Fatal(err)
		}
		fake.orders = "<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<КоммерческаяИнформация ВерсияСхемы=\"2.05\" ДатаФормирования=\"2026-12-05T10:00:00\"></КоммерческаяИнформация>\n"
		if res := run(site.KindOrders); res.Status != "success" || res.Counts["sales_order"] == nil || res.Counts["sales_order"].Sent != 1 {
			t.Fatalf("second run: %+v", res)
		}
		doc := fake.got["to-site.xml"]
		schematest.Validate(t, doc)
		text, err := charmap.Windows1251.NewDecoder().Bytes(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			fmt.Sprintf("<Ид>obmen-product-%d</Ид>", first.ID), "<Наименование>Товар 0</Наименование>", `<БазоваяЕдиница Код="796">шт</БазоваяЕдиница>`,
			"<ЦенаЗаЕдиницу>10.00</ЦенаЗаЕдиницу>", "<Количество>3</Количество>", "<Сумма>28.00</Сумма>",
			"<Скидка>", "<Сумма>2.00</Сумма>", "<Ставка>20.00</Ставка>",
			"<Ид>7#Иван</Ид>", // the buyer under the site's own id
		} {
			if !strings.Contains(string(text), want) {
				t.Errorf("to-site.xml lacks %s:\n%s", want, text)
			}
		}
		// The order given to another account in Obmen: that buyer is not
		// the site's customer 7, so it goes under Obmen's id.
		other, err := in.app.Store.CreateAccount(in.ctx, in.admin, crm.Account{Title: "ООО Другой покупатель"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.app.Store.UpdateSalesOrder(in.ctx, in.admin, id, func(o *crm.SalesOrder) error { o.AccountID = other.ID; return nil }); err != nil {
			t.Fatal(err)
		}
		fake.mu.Lock()
		delete(fake.got, "to-site.xml") // the fake appends the chunks of a file
		fake.mu.Unlock()
		if res := run(site.KindOrders); res.Status != "success" || res.Counts["sales_order"] == nil || res.Counts["sales_order"].Sent != 1 {
			t.Fatalf("third run: %+v", res)
		}
		text, err = charmap.Windows1251.NewDecoder().Bytes(fake.got["to-site.xml"])
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("<Ид>obmen-account-%d</Ид>", other.ID); !strings.Contains(string(text), want) || strings.Contains(string(text), "7#Иван") {
			t.Errorf("to-site.xml after the account changed lacks %s:\n%s", want, text)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		var check site.CheckResult
		in.exec("UPDATE site_exchanges SET password = $1 WHERE id = $2", mustSeal(t, in, "wrong"), s.ID)
		if code := in.api("POST", fmt.Sprintf("/api/v1/site-exchanges/%d/check", s.ID), nil, &check); code != 200 || check.OK || !strings.Contains(check.Error, "Неверный логин") {
			t.Errorf("check: %d %+v", code, check)
		}
	})
}

func mustSeal(t *testing.T, in *instance, pw string) string {
	t.Helper()
	var s site.Settings
	s, err := in.app.Sites.Store.Get(in.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	s.Password = pw
	if _, err := in.app.Sites.Store.Update(in.ctx, crm.Actor{}, s.ID, s); err != nil {
		t.Fatal(err)
	}
	var sealed string
	if err := in.d.Read.QueryRowContext(in.ctx, "SELECT password FROM site_exchanges WHERE id = $1", s.ID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	return sealed
}

// A site with many orders answers mode=query with a document of several
// megabytes; the run reads it whole (the outbound client's default cap of
// 1 MiB is for small API answers).
func TestLargeOrdersDocument(t *testing.T) {
	in := start(t, storetest.OpenSQLite(t))
	padding := strings.Repeat("заказ ", 400_000) // 2.4 MB as the fake sends it (windows-1251)
	fake := &fakeSite{files: map[string]int{},
		orders: "<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<КоммерческаяИнформация ВерсияСхемы=\"2.05\" ДатаФормирования=\"2026-12-05T10:00:00\">\n" +
			"<!-- " + padding + " -->\n" +
			"<Документ><Ид>77</Ид><Номер>77</Номер><Дата>2026-12-05</Дата><ХозОперация>Заказ товара</ХозОперация><Роль>Продавец</Роль><Валюта>руб</Валюта><Курс>1</Курс><Сумма>100</Сумма>" +
			"<Товары><Товар><Ид>x</Ид><Наименование>Носки</Наименование><ЦенаЗаЕдиницу>100</ЦенаЗаЕдиницу><Количество>1</Количество><Сумма>100</Сумма></Товар></Товары></Документ>\n" +
			"</КоммерческаяИнформация>\n"}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	var s site.Settings
	if code := in.api("POST", "/api/v1/site-exchanges", site.Settings{URL: srv.URL + "/bitrix/admin/1c_exchange.php", Login: "admin", Password: "pw"}, &s); code != 201 {
		t.Fatalf("create: %d", code)
	}
	var res site.RunResult
	if code := in.api("POST", fmt.Sprintf("/api/v1/site-exchanges/%d/run?kind=orders", s.ID), nil, &res); code != 200 {
		t.Fatalf("run: %d %+v", code, res)
	}
	if res.Status != "success" || res.Counts["sales_order"] == nil || res.Counts["sales_order"].Created != 1 {
		t.Errorf("run: %+v", res)
	}
}
