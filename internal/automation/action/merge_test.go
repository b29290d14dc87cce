package action

import (
	"reflect"
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

// A flat patch decoded over the record gives what the JSON merge patch
// gives.
func TestFlatMergeIsMergePatch(t *testing.T) {
	cur := crm.Lead{Title: "Заявка", Name: "Иван", Opportunity: 150050, Currency: "RUB", StatusID: "NEW",
		Comms: crm.Comms{Phones: []crm.Comm{{ID: 3, Value: "+79256424290", ValueType: "MOBILE"}}},
		Extra: crm.Extra{Custom: map[string]any{"UF_CRM_1": "x"}, ExternalIDs: map[string]string{"1c": "a"}}}
	cur.ID, cur.AssignedByID = 7, 1
	for _, patch := range []map[string]any{
		{"title": "Звонок"},
		{"comments": "Контакт 5", "status_id": "IN_PROCESS", "opened": true},
		{"opportunity": "2500.5", "assigned_by_id": int64(2)},
		{"opportunity": 99.99},
		{},
	} {
		if !flatPatch(patch) {
			t.Fatalf("%v is flat", patch)
		}
		fast, err1 := merged(cur, patch)
		slow, err2 := mergedJSON(cur, patch)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("%v: errors %v / %v", patch, err1, err2)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%v:\nfast %+v\nslow %+v", patch, fast, slow)
		}
	}
	for _, patch := range []map[string]any{{"title": nil}, {"phones": []any{}}, {"custom": map[string]any{"UF_CRM_1": nil}}} {
		if flatPatch(patch) {
			t.Fatalf("%v is not flat", patch)
		}
	}
	if _, err := merged(cur, map[string]any{"assigned_by_id": "двое"}); err == nil {
		t.Fatal("a word for a number was taken")
	}
}
