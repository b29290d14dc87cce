package web_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/obmen/obmen/internal/store/storetest"
)

// TestBrowserWebformFieldPicker: the admin picks a form's fields by their
// Russian names; a change of module offers the new module's fields and
// keeps a field both have; the saved form has the fields' names.
func TestBrowserWebformFieldPicker(t *testing.T) {
	e := newEnv(t, storetest.OpenAny(t))
	bs := newBrowserSession(t, e)
	bs.run("new form", chromedp.Navigate(e.srv.URL+"/admin/webforms"), chromedp.WaitVisible(chromedp.CSS(`#wf-f0-name`)))
	if got := bs.eval(`Array.from(document.querySelectorAll('#wf-f0-name option')).map(o => o.textContent).join(",")`); got != "—,Тема,Имя,Фамилия,Отчество,Компания,Должность,Телефон,E-mail,Город,Сумма,Комментарий" {
		t.Fatalf("lead fields offered: %s", got)
	}
	bs.run("name", chromedp.SendKeys(chromedp.CSS(`#wf-name`), "Заявка на расчёт"))
	bs.setSelect(`#wf-f0-name`, "phone")
	bs.setSelect(`#wf-f1-name`, "company_title")
	bs.setSelect(`#wf-module`, "accounts")
	if got := bs.eval(`Array.from(document.querySelectorAll('#wf-f1-name option')).map(o => o.textContent).join(",")`); got != "—,Название компании,ИНН,Телефон,E-mail,Город,Комментарий" {
		t.Fatalf("company fields offered: %s", got)
	}
	if kept := bs.eval(`document.getElementById('wf-f0-name').value + "|" + document.getElementById('wf-f1-name').value`); kept != "phone|" {
		t.Fatalf("after the change of module: %s", kept)
	}
	bs.setSelect(`#wf-f1-name`, "inn")
	bs.run("save", chromedp.Click(chromedp.CSS(`#webform-settings button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#wf-html`)))
	forms, err := e.app.Forms.List(context.Background())
	if err != nil || len(forms) != 1 {
		t.Fatalf("forms: %v %v", forms, err)
	}
	f := forms[0]
	if f.Module != "accounts" || len(f.Fields) < 2 || f.Fields[0].Name != "phone" || f.Fields[1].Name != "inn" || f.Fields[1].Label != "ИНН" {
		t.Fatalf("saved form: %s %+v", f.Module, f.Fields)
	}
}
