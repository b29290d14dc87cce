package web_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/obmen/obmen/internal/address"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestBrowserAddressSuggest fills a new company's legal address from the
// suggestions of the imported ГАР fixture, with the keyboard (city,
// street) and the mouse (house): the postcode, region, city, street and
// house come from the picks, the flat is typed; the saved address has the
// text and the house's ФИАС id (the fixture's house has no КЛАДР code).
// Then on the card's full form another street is picked (its ids) and a
// house typed by hand (the street's ids stay), and the city typed by hand
// drops every id. At 390 and 1280 px the block fits the window, every
// control is labelled (screenshots in OBMEN_SHOT_DIR).
func TestBrowserAddressSuggest(t *testing.T) {
	d := storetest.OpenAny(t)
	e := newEnv(t, d)
	im := &address.Importer{DB: d, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := im.Import(context.Background(), "../address/testdata/gar"); err != nil {
		t.Fatal(err)
	}
	bs := newBrowserSession(t, e)
	const city, street, house = `#f-legal_address-city`, `#f-legal_address-street`, `#f-legal_address-house`
	for _, w := range []struct {
		name string
		w, h int64
	}{{"phone", 390, 844}, {"wide", 1280, 900}} {
		bs.run("new company "+w.name, chromedp.EmulateViewport(w.w, w.h), chromedp.Navigate(e.srv.URL+"/e/account/new"),
			chromedp.WaitVisible(chromedp.CSS(city)))
		bs.run("title", chromedp.SendKeys(chromedp.CSS(`#f-title`), "ООО Адрес "+w.name))
		// The city, with the keyboard: "каз" offers Казань in Татарстан.
		bs.run("city", chromedp.SendKeys(chromedp.CSS(city), "каз"))
		bs.waitJS("city list", `document.querySelector("#f-legal_address-city-options li[role=option]") !== null`)
		if got := bs.eval(`document.querySelector("#f-legal_address-city-options").innerText`); !strings.HasPrefix(got, "г Казань") || !strings.Contains(got, "Респ Татарстан") {
			t.Fatalf("city suggestions: %q", got)
		}
		if got := bs.eval(`(function(){ const i = document.querySelector("` + city + `"); return i.getAttribute("aria-expanded") + " " + i.getAttribute("aria-activedescendant") })()`); got != "true f-legal_address-city-options-0" {
			t.Fatalf("combobox state: %q", got)
		}
		bs.run("pick city", chromedp.KeyEvent(kb.Enter))
		bs.waitJS("region filled", `document.querySelector("#f-legal_address-region").value === "Респ Татарстан"`)
		if got := bs.eval(`document.activeElement.id`); got != "f-legal_address-street" {
			t.Fatalf("after the city the focus is on %q", got)
		}
		// The street within Казань: "марк" finds ул Карла Маркса by its
		// second word; arrows then Enter.
		bs.run("street", chromedp.SendKeys(chromedp.CSS(street), "марк"))
		// (The list the focus opened, every street of the city, gives way
		// to the matches.)
		bs.waitJS("street list", `(function(){ const o = Array.from(document.querySelectorAll("#f-legal_address-street-options li[role=option]"));
			return o.length === 1 && o[0].textContent.startsWith("ул Карла Маркса") })()`)
		if w.name == "phone" {
			bs.run("shot list", shot(bs.dir, "address-suggest-"+w.name))
		}
		bs.run("pick street", chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowUp), chromedp.KeyEvent(kb.Enter))
		bs.waitJS("street filled", `document.querySelector("#f-legal_address-street").value === "ул Карла Маркса"`)
		// The house with the mouse; Escape first closes a list without
		// picking.
		bs.run("house", chromedp.SendKeys(chromedp.CSS(house), "1"))
		bs.waitJS("house list", `document.querySelector("#f-legal_address-house-options li[role=option]") !== null`)
		bs.run("escape", chromedp.KeyEvent(kb.Escape))
		if got := bs.eval(`String(document.querySelector("#f-legal_address-house-options").hidden)`); got != "true" {
			t.Fatalf("Escape left the list open")
		}
		bs.run("house again", chromedp.SendKeys(chromedp.CSS(house), "0"))
		bs.waitJS("house 10", `Array.from(document.querySelectorAll("#f-legal_address-house-options li[role=option]")).some(li => li.textContent.startsWith("д 10"))`)
		bs.eval(`(function(){ const li = Array.from(document.querySelectorAll("#f-legal_address-house-options li[role=option]")).find(li => li.textContent.startsWith("д 10"));
			li.dispatchEvent(new MouseEvent("mousedown", {bubbles: true})); return "" })()`)
		bs.waitJS("house filled", `document.querySelector("#f-legal_address-house").value === "д 10"`)
		if got := bs.eval(`document.activeElement.id`); got != "f-legal_address-flat" {
			t.Fatalf("after the house the focus is on %q", got)
		}
		bs.run("flat", chromedp.SendKeys(chromedp.CSS(`#f-legal_address-flat`), "оф 3"))
		if got := bs.eval(`document.querySelector("#f-legal_address-ids").innerText`); got != "ФИАС: 000006a8-0000-4000-8000-0000000006a8 · КЛАДР: —" {
			t.Fatalf("ids shown: %q", got)
		}
		bs.labelled("address block " + w.name)
		bs.noHorizontalScroll("new company " + w.name)
		bs.run("shot", shot(bs.dir, "address-block-"+w.name))
		// (The saved card shows its fields inline; the full form, which
		// also has the timeline, does not.)
		bs.run("save", chromedp.Click(chromedp.CSS(`#save`)), chromedp.WaitVisible(chromedp.CSS(`#inline-fields`)))
	}
	accs, _, err := e.app.Store.ListAccounts(context.Background(), store.ListParams{})
	if err != nil || len(accs) != 2 {
		t.Fatalf("accounts: %v %v", len(accs), err)
	}
	a := accs[0]
	if a.Title != "ООО Адрес phone" {
		a = accs[1]
	}
	got := a.LegalAddress
	if got.Postcode != "420015" || got.Region != "Респ Татарстан" || got.City != "г Казань" || got.Street != "ул Карла Маркса" || got.House != "д 10" ||
		got.Flat != "оф 3" || got.FIASID != "000006a8-0000-4000-8000-0000000006a8" || got.KLADR != "" {
		t.Fatalf("stored legal address: %+v", got)
	}
	if a.ActualAddress.FIASID != "" || a.ActualAddress.City != "" {
		t.Fatalf("actual address: %+v", a.ActualAddress)
	}

	// The full form of the saved company: the street picked anew and the
	// house typed by hand leave the street's ids; the city typed by hand
	// leaves none.
	bs.run("edit", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(e.srv.URL+"/e/account/"+strconv.FormatInt(a.ID, 10)+"?edit=all"),
		chromedp.WaitVisible(chromedp.CSS(street)))
	if got := bs.eval(`document.querySelector("[name='legal_address.fias_id']").value`); got != "000006a8-0000-4000-8000-0000000006a8" {
		t.Fatalf("stored id in the form: %q", got)
	}
	bs.eval(`(function(){ const i = document.querySelector("` + street + `"); i.value = ""; return "" })()`)
	bs.run("street anew", chromedp.SendKeys(chromedp.CSS(street), "бауман"))
	bs.waitJS("street list", `document.querySelector("#f-legal_address-street-options li[role=option]") !== null`)
	bs.run("pick", chromedp.KeyEvent(kb.Enter))
	bs.waitJS("street id", `document.querySelector("[name='legal_address.fias_id']").value === "00000643-0000-4000-8000-000000000643"`)
	if got := bs.eval(`document.querySelector("[name='legal_address.kladr_id']").value + "|" + document.querySelector("#f-legal_address-house").value`); got != "16000001000005600|" {
		t.Fatalf("after another street: %q", got)
	}
	bs.run("house by hand", chromedp.SendKeys(chromedp.CSS(house), "99"), chromedp.KeyEvent(kb.Escape))
	if got := bs.eval(`document.querySelector("[name='legal_address.fias_id']").value`); got != "00000643-0000-4000-8000-000000000643" {
		t.Fatalf("a house typed by hand changed the street's id: %q", got)
	}
	bs.run("save", chromedp.Click(chromedp.CSS(`#save`)), chromedp.WaitVisible(chromedp.CSS(`#inline-fields`)))
	b, err := e.app.Store.GetAccount(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	// (The house's postcode went with it: Баумана has none of its own.)
	if got := b.LegalAddress; got.Street != "ул Баумана" || got.House != "99" || got.Postcode != "" || got.FIASID != "00000643-0000-4000-8000-000000000643" || got.KLADR != "16000001000005600" || got.Flat != "оф 3" {
		t.Fatalf("after the street was picked anew: %+v", got)
	}
	bs.run("edit again", chromedp.Navigate(e.srv.URL+"/e/account/"+strconv.FormatInt(a.ID, 10)+"?edit=all"), chromedp.WaitVisible(chromedp.CSS(city)))
	bs.run("city by hand", chromedp.SendKeys(chromedp.CSS(city), "ь"), chromedp.KeyEvent(kb.Escape))
	if got := bs.eval(`document.querySelector("[name='legal_address.fias_id']").value + "|" + document.querySelector("[data-show=fias_id]").textContent`); got != "|не выбран из справочника" {
		t.Fatalf("the city typed by hand left ids: %q", got)
	}
	bs.run("save", chromedp.Click(chromedp.CSS(`#save`)), chromedp.WaitVisible(chromedp.CSS(`#inline-fields`)))
	if b, err = e.app.Store.GetAccount(context.Background(), a.ID); err != nil || b.LegalAddress.FIASID != "" || b.LegalAddress.KLADR != "" || b.LegalAddress.City != "ьг Казань" || b.LegalAddress.Postcode != "" {
		t.Fatalf("after the city typed by hand: %+v %v", b.LegalAddress, err)
	}
}
