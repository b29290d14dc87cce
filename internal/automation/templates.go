package automation

import "github.com/obmen/obmen/internal/automation/tmpl"

// Template is a ready bundle in the gallery: a user copies it and
// adjusts it before switching it on.
type Template struct {
	Name        string     `json:"name"`
	Title       Text       `json:"title"`
	Description Text       `json:"description"`
	Definition  Definition `json:"definition"`
}

// TemplateList is the gallery's envelope.
type TemplateList struct {
	Items []Template `json:"items"`
}

// Templates is the gallery. Every template compiles against the built-in
// actions (a test checks), and is off until the user switches it on.
func Templates() []Template {
	return []Template{
		{
			Name: "webform-lead-contact-task",
			Title: Text{Ru: "Заявка с сайта → контакт по телефону → задача ответственному",
				En: "Web form lead → contact found or created by phone → task for the responsible user"},
			Description: Text{
				Ru: "Каждый новый лид из веб-формы: ищет контакт с тем же телефоном и создаёт его, если такого нет; ставит ответственному задачу перезвонить в течение часа.",
				En: "Each new lead from a web form: finds the contact with the same phone or creates one, then gives the responsible user a task to call back within an hour."},
			Definition: Definition{
				Name:    "Заявка с сайта → контакт и задача",
				Trigger: TriggerSpec{Type: TriggerCRMEvent, Entity: "lead", Actions: []string{"create"}},
				Filters: tmpl.Condition{All: []tmpl.Condition{
					{Value: "{{trigger.event.actor}}", Op: "eq", Arg: "integration:webform"},
					{Value: "{{trigger.record.phones[0].value}}", Op: "not_empty"},
				}},
				Steps: []Step{
					{ID: "client", Name: "Контакт", Action: "crm.contact.create",
						Input: map[string]any{
							"name":           "{{trigger.record.name}}",
							"last_name":      "{{trigger.record.last_name}}",
							"phones":         []any{map[string]any{"value": "{{trigger.record.phones[0].value}}", "value_type": "mobile"}},
							"emails":         "{{trigger.record.emails}}",
							"source_id":      "WEB",
							"assigned_by_id": "{{trigger.record.assigned_by_id}}",
						},
						Duplicates: &Duplicates{By: []string{"phone"}, Then: DupSkip}},
					{ID: "task", Name: "Задача перезвонить", Action: "crm.activity.create",
						Input: map[string]any{
							"kind":           "task",
							"subject":        "Перезвонить: {{trigger.record.title}}",
							"description":    "Заявка с сайта от {{default(trigger.record.name, \"клиента\")}}, телефон {{phone(trigger.record.phones[0].value)}}. Контакт № {{steps.client.id}}.",
							"owner_type":     "lead",
							"owner_id":       "{{trigger.record.id}}",
							"assigned_by_id": "{{trigger.record.assigned_by_id}}",
							"priority":       "high",
							"start_at":       "{{date(add_hours(now(), 1), \"YYYY-MM-DDTHH:mm:ssZ\")}}",
						}},
				},
			},
		},
		{
			Name:  "deal-won-comment-task",
			Title: Text{Ru: "Сделка выиграна → комментарий и задача выставить счёт", En: "Deal won → comment and a task to issue the invoice"},
			Description: Text{
				Ru: "Когда сделка переходит в стадию «Успешно»: пишет в её ленту сумму и дату и ставит ответственному задачу выставить счёт.",
				En: "When a deal moves to the WON stage: writes the amount and date to its timeline and gives the responsible user a task to issue the invoice."},
			Definition: Definition{
				Name:    "Сделка выиграна → счёт",
				Trigger: TriggerSpec{Type: TriggerCRMEvent, Entity: "deal", Actions: []string{"update"}, ChangedTo: map[string]any{"stage_id": "WON"}},
				Steps: []Step{
					{ID: "note", Action: "crm.timeline.add", Input: map[string]any{
						"entity": "deal", "id": "{{trigger.record.id}}",
						"text": "Сделка выиграна {{date(now(), \"D MMMM YYYY\")}} на сумму {{money(trigger.record.opportunity, trigger.record.currency)}}.",
					}},
					{ID: "invoice_task", Action: "crm.activity.create", Input: map[string]any{
						"kind": "task", "subject": "Выставить счёт по сделке «{{trigger.record.title}}»",
						"owner_type": "deal", "owner_id": "{{trigger.record.id}}", "assigned_by_id": "{{trigger.record.assigned_by_id}}",
					}},
				},
			},
		},
		{
			Name:  "site-order-webhook",
			Title: Text{Ru: "Заказ с сайта по HTTP → клиент и заказ", En: "Site order over HTTP → client and sales order"},
			Description: Text{
				Ru: "Сайт отправляет заказ JSON-ом на секретный адрес связки ({\"number\", \"name\", \"phone\", \"email\", \"items\": [{\"name\", \"price\", \"quantity\"}]}): находит или создаёт контакт по телефону и создаёт заказ с его строками.",
				En: "The site posts an order as JSON to the bundle's secret URL: the contact is found or created by phone and a sales order is made with its lines."},
			Definition: Definition{
				Name:     "Заказ с сайта → заказ в CRM",
				Trigger:  TriggerSpec{Type: TriggerWebhook},
				OrderKey: "{{trigger.body.phone}}",
				Steps: []Step{
					{ID: "client", Action: "crm.contact.create", Input: map[string]any{
						"name":   "{{trigger.body.name}}",
						"phones": []any{map[string]any{"value": "{{trigger.body.phone}}", "value_type": "mobile"}},
						"emails": []any{map[string]any{"value": "{{trigger.body.email}}", "value_type": "work"}},
					}, Duplicates: &Duplicates{By: []string{"phone"}, Then: DupSkip}},
					{ID: "order", Action: "crm.sales_order.create", Input: map[string]any{
						"comments":   "Заказ с сайта № {{trigger.body.number}}",
						"contact_id": "{{steps.client.id}}",
						"from_site":  "{{trigger.body.number}}",
						// A map literal in parentheses: bare braces in
						// map() are a predicate.
						"items": "{{map(trigger.body.items, ({\"name\": #.name, \"price\": string(#.price), \"quantity\": #.quantity}))}}",
					}},
				},
			},
		},
		{
			Name: "deal-invoice-email",
			Title: Text{Ru: "Сделка на стадии «Счёт на предоплату» → счёт → письмо клиенту со ссылкой на оплату → запись в ленте",
				En: "Deal at the prepayment-invoice stage → invoice → e-mail with the payment link → timeline post"},
			Description: Text{
				Ru: "Пример бизнес-процесса: когда сделка переходит в стадию «Счёт на предоплату», создаёт счёт на основании сделки (выберите в шаге «Счёт» свои способы оплаты для компаний и для контактов), отправляет контакту сделки письмо со ссылкой на оплату через сохранённое подключение SMTP «Почта» (Интеграции → Подключения) и пишет номер счёта и ссылку в ленту сделки. Если счёт не создан (в сделке нет товаров, нет клиента), письмо не уходит, а в ленту пишется причина.",
				En: "The classic business process: when a deal moves to the prepayment-invoice stage, makes an invoice from the deal (choose your payment methods for companies and for contacts in the «Счёт» step), e-mails the deal's contact the payment link through the saved SMTP connection «Почта» (Integrations → Connections) and posts the invoice number and link to the deal's timeline. When no invoice is made (no products, no client) no letter goes and the timeline says why."},
			Definition: Definition{
				Name:    "Сделка → счёт → письмо со ссылкой на оплату",
				Trigger: TriggerSpec{Type: TriggerCRMEvent, Entity: "deal", Actions: []string{"update"}, ChangedTo: map[string]any{"stage_id": "PREPAYMENT_INVOICE"}},
				Steps: []Step{
					{ID: "inv", Name: "Счёт", Action: "invoice.from_deal", OnError: OnErrorContinue, Input: map[string]any{
						"deal_id": "{{trigger.record.id}}", "pay_method_company": 1, "pay_method_contact": 2,
					}},
					{ID: "client", Name: "Контакт сделки", Action: "crm.contact.get",
						When: &tmpl.Condition{All: []tmpl.Condition{
							{Value: "{{steps.inv.number}}", Op: "not_empty"},
							{Value: "{{trigger.record.contact_ids[0]}}", Op: "not_empty"},
						}},
						Input: map[string]any{"id": "{{trigger.record.contact_ids[0]}}"}},
					{ID: "mail", Name: "Письмо клиенту", Action: "email.send",
						When: &tmpl.Condition{Value: "{{steps.client.emails[0].value}}", Op: "not_empty"},
						Input: map[string]any{
							"smtp_account": "Почта",
							"to":           "{{steps.client.emails[0].value}}",
							"subject":      "Счёт № {{steps.inv.number}} на оплату",
							"body":         "Здравствуйте, {{default(steps.client.name, \"клиент\")}}!\n\nНаправляем счёт № {{steps.inv.number}}. Оплатить: {{steps.inv.payment_url}}\nСчёт в PDF: {{steps.inv.pdf_url}}\n",
						}},
					{ID: "note", Name: "Запись в ленте", Action: "crm.timeline.add", Input: map[string]any{
						"entity": "deal", "id": "{{trigger.record.id}}",
						"text": "{{ (steps.inv.number ?? '') != '' ? 'Счёт № ' + steps.inv.number + ': ' + steps.inv.payment_url + ((steps?.mail?.message_id ?? '') != '' ? ' — отправлен ' + steps.client.emails[0].value : ' — письмо не отправлено') : 'Счёт не создан: ' + (steps.inv.error ?? '') }}",
					}},
				},
			},
		},
		{
			Name: "invoice-paid-deal-call",
			Title: Text{Ru: "Счёт оплачен → сделка «Успешно» и звонок ответственному",
				En: "Invoice paid → deal won and a call for the responsible user"},
			Description: Text{
				Ru: "Пример бизнес-процесса: когда счёт переходит в статус «Оплачен» (P), переводит его сделку в стадию «Успешно» и ставит ответственному за сделку звонок клиенту — без опроса, по журналу изменений.",
				En: "The classic business process: when an invoice becomes paid (P), moves its deal to WON and gives the deal's responsible user a call to the client — from the change log, no polling."},
			Definition: Definition{
				Name:    "Счёт оплачен → сделка успешна, звонок",
				Trigger: TriggerSpec{Type: "invoice.status_changed", Options: map[string]any{"status": "P"}},
				Filters: tmpl.Condition{Value: "{{trigger.record.deal_id}}", Op: "not_empty"},
				Steps: []Step{
					{ID: "won", Name: "Сделка успешна", Action: "crm.deal.move", Input: map[string]any{
						"id": "{{trigger.record.deal_id}}", "stage_id": "WON",
					}},
					{ID: "call", Name: "Звонок клиенту", Action: "crm.activity.create", Input: map[string]any{
						"kind": "call", "subject": "Позвонить клиенту: счёт № {{trigger.record.number}} оплачен",
						"owner_type": "deal", "owner_id": "{{trigger.record.deal_id}}",
						"assigned_by_id": "{{steps.won.assigned_by_id}}", "priority": "high",
					}},
				},
			},
		},
	}
}
