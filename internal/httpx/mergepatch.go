package httpx

import (
	"bytes"
	"encoding/json"
)

// MergePatch applies a JSON merge patch (RFC 7396) to doc: objects merge
// key by key, recursively; anything else — arrays included — replaces
// the old value; null removes the key. doc and patch must be valid JSON.
func MergePatch(doc, patch []byte) ([]byte, error) {
	var p any
	dec := json.NewDecoder(bytes.NewReader(patch))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return nil, err
	}
	pm, ok := p.(map[string]any)
	if !ok {
		return patch, nil
	}
	var d any
	dec = json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		return nil, err
	}
	return json.Marshal(merge(d, pm))
}

func merge(doc any, patch map[string]any) any {
	dm, ok := doc.(map[string]any)
	if !ok {
		dm = map[string]any{}
	}
	for k, pv := range patch {
		switch v := pv.(type) {
		case nil:
			delete(dm, k)
		case map[string]any:
			dm[k] = merge(dm[k], v)
		default:
			dm[k] = v
		}
	}
	return dm
}
