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
	}
}
