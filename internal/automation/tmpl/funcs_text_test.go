package tmpl

import "testing"

func TestDefault(t *testing.T) {
	t.Parallel()
	runRender(t, []renderCase{
		{src: "{{ default(trigger.record.missing, 'нет') }}", want: "нет"},
		{src: "{{ default(trigger.record.empty, 'нет') }}", want: "нет"},
		{src: "{{ default(trigger.record.blank, 'нет') }}", want: "нет"},
		{src: "{{ default(trigger.record.no_tags, 'нет') }}", want: "нет"},
		{src: "{{ default(trigger.record.no_fields, 'нет') }}", want: "нет"},
		{src: "{{ default(trigger.record.zero, 'нет') }}", want: int64(0)},
		{src: "{{ default(trigger.record.flag, 'нет') }}", want: false},
		{src: "{{ default(trigger.record.id, 0) }}", want: int64(5)},
		{src: "{{ default(trigger.record.tags, []) }}", want: []any{"vip", "опт"}},
		{src: "{{ default(1) }}", err: "default: expected 2 arguments, got 1"},
	})
}

func TestCase(t *testing.T) {
	t.Parallel()
	runRender(t, []renderCase{
		{src: "{{ upper('ёлка Straße') }}", want: "ЁЛКА STRAßE"},
		{src: "{{ lower('ООО «Ромашка»') }}", want: "ооо «ромашка»"},
		{src: "{{ upper(trigger.record.missing) }}", want: ""},
		{src: "{{ upper(5) }}", want: "5"},
		{src: "{{ upper(trigger.record.tags) }}", err: "upper: expected text, got list"},
		{src: "{{ lower(steps.client) }}", err: "lower: expected text, got object"},
		{src: "{{ upper('a', 'b') }}", err: "upper: expected 1 argument, got 2"},
	})
}

func TestTrim(t *testing.T) {
	t.Parallel()
	runRender(t, []renderCase{
		{src: "{{ trim(trigger.record.name) }}", want: "Иван Петров"},
		{src: "{{ trim('\u00a0\t Текст\u3000\\n') }}", want: "Текст"},
		{src: "{{ trim('--да--', '-') }}", want: "да"},
		{src: "{{ trim('«кавычки»', '«»') }}", want: "кавычки"},
		{src: "{{ trim(nil) }}", want: ""},
		{src: "{{ trim() }}", err: "trim: expected 1 to 2 arguments, got 0"},
		{src: "{{ trim([1]) }}", err: "trim: expected text, got list"},
	})
}

func TestReplace(t *testing.T) {
	t.Parallel()
	runRender(t, []renderCase{
		{src: "{{ replace('a-b-c', '-', ' / ') }}", want: "a / b / c"},
		{src: "{{ replace('Иван', 'Иван', 'Пётр') }}", want: "Пётр"},
		{src: "{{ replace('abc', '', 'x') }}", want: "abc"},
		{src: "{{ replace(nil, 'a', 'b') }}", want: ""},
		{src: "{{ replace(1500, '5', '6') }}", want: "1600"},
		{src: "{{ replace('a', 'b') }}", err: "replace: expected 3 arguments, got 2"},
		{src: "{{ replace(repeat('a', 900000), 'a', 'bb') }}", err: "text longer than 1048576 bytes"},
	})
}

func TestSubstr(t *testing.T) {
	t.Parallel()
	runRender(t, []renderCase{
		{src: "{{ substr('Привет, мир', 0, 6) }}", want: "Привет"},
		{src: "{{ substr('Привет, мир', 8) }}", want: "мир"},
		{src: "{{ substr('Привет, мир', -3) }}", want: "мир"},
		{src: "{{ substr('Привет, мир', -3, 2) }}", want: "ми"},
		{src: "{{ substr('Привет', -100, 2) }}", want: "Пр"},
		{src: "{{ substr('Привет', 100) }}", want: ""},
		{src: "{{ substr('Привет', 2, 100) }}", want: "ивет"},
		{src: "{{ substr('Привет', 2, -1) }}", want: ""},
		{src: "{{ substr('Привет', '1', 2) }}", want: "ри"},
		{src: "{{ substr(nil, 0, 2) }}", want: ""},
		{src: "{{ substr('Привет', 1.5) }}", err: "substr: start must be a whole number, got 1.5"},
		{src: "{{ substr('Привет', 'a') }}", err: `substr: start must be a whole number, got "a"`},
		{src: "{{ substr('Привет') }}", err: "substr: expected 2 to 3 arguments, got 1"},
	})
}

func TestJoinSplit(t *testing.T) {
	t.Parallel()
	runRender(t, []renderCase{
		{src: "{{ join(trigger.record.tags, '; ') }}", want: "vip; опт"},
		{src: "{{ join(trigger.record.tags) }}", want: "vip, опт"},
		{src: "{{ join([1, nil, 2.5, true, {a: 1}], '|') }}", want: `1|2.5|true|{"a":1}`},
		{src: "{{ join(map(trigger.record.phones, phone(.value)), ', ') }}", want: "+79123456789, +74951234567"},
		{src: "{{ join(nil, ',') }}", want: ""},
		{src: "{{ join('уже текст', ',') }}", want: "уже текст"},
		{src: "{{ join(steps.client, ',') }}", err: "join: expected a list, got object"},
		{src: "{{ split(' a, b,,c ,', ',') }}", want: []any{"a", "b", "c"}},
		{src: "{{ split('a; b', '; ') }}", want: []any{"a", "b"}},
		{src: "{{ split('a,b') }}", want: []any{"a", "b"}},
		{src: "{{ split(nil, ',') }}", want: []any{}},
		{src: "{{ split('   ', ',') }}", want: []any{}},
		{src: "{{ split('a', '') }}", err: "split: empty separator"},
		{src: "{{ split([1], ',') }}", err: "split: expected text, got list"},
	})
}

func TestPhoneDigits(t *testing.T) {
	t.Parallel()
	runRender(t, []renderCase{
		{src: "{{ phone(trigger.record.phones[0].value) }}", want: "+79123456789"},
		{src: "{{ phone('+7 (495) 123-45-67') }}", want: "+74951234567"},
		{src: "{{ phone('89123456789') }}", want: "+79123456789"},
		{src: "{{ phone(79123456789) }}", want: "+79123456789"},
		{src: "{{ phone('9123456789') }}", want: "+79123456789"},
		{src: "{{ phone('не телефон') }}", want: ""},
		{src: "{{ phone('12') }}", want: ""},
		{src: "{{ phone(nil) }}", want: ""},
		{src: "{{ phone('') }}", want: ""},
		{src: "{{ phone(trigger.record.phones) }}", err: "phone: expected text, got list"},
		{src: "{{ digits('+7 (912) 345-67-89') }}", want: "79123456789"},
		{src: "{{ digits('ИНН ٣ 7707083893') }}", want: "7707083893"},
		{src: "{{ digits(nil) }}", want: ""},
		{src: "{{ digits() }}", err: "digits: expected 1 argument, got 0"},
	})
}

func TestStringJSONLenKeys(t *testing.T) {
	t.Parallel()
	runRender(t, []renderCase{
		{src: "{{ string(trigger.record.id) + '!' }}", want: "5!"},
		{src: "{{ string(trigger.record.tags) }}", want: "vip, опт"},
		{src: "{{ string(nil) }}", want: ""},
		{src: "{{ json(steps.client) }}", want: `{"id":42,"result":{"ok":true}}`},
		{src: "{{ json('кавычка \" и\\nстрока') }}", want: `"кавычка \" и\nстрока"`},
		{src: "{{ json(nil) }}", want: "null"},
		{src: "{{ json(now()) }}", want: `"2026-12-05T10:30:00+03:00"`},
		{src: "{{ json([1.5, 2, 'x']) }}", want: `[1.5,2,"x"]`},
		{src: "{{ len('Привет') }}", want: int64(6)},
		{src: "{{ len(trigger.record.tags) }}", want: int64(2)},
		{src: "{{ len(steps.client) }}", want: int64(2)},
		{src: "{{ len(nil) }}", want: int64(0)},
		{src: "{{ len(5) }}", err: "len: expected text, a list or an object, got number"},
		{src: "{{ keys(steps.client) }}", want: []any{"id", "result"}},
		{src: "{{ values(steps.client) }}", want: []any{int64(42), map[string]any{"ok": true}}},
		{src: "{{ keys(nil) }}", want: []any{}},
		{src: "{{ values(groupBy(1..4, # % 2)) }}", want: []any{[]any{int64(2), int64(4)}, []any{int64(1), int64(3)}}},
		{src: "{{ keys('x') }}", err: "keys: expected an object, got text"},
	})
}

// The expr builtins we keep still work.
func TestKeptBuiltins(t *testing.T) {
	t.Parallel()
	runRender(t, []renderCase{
		{src: "{{ first(trigger.record.tags) }}", want: "vip"},
		{src: "{{ last(trigger.record.tags) }}", want: "опт"},
		{src: "{{ sum(map(trigger.record.phones, 1)) }}", want: int64(2)},
		{src: "{{ count(trigger.record.tags, # == 'vip') }}", want: int64(1)},
		{src: "{{ any(trigger.record.tags, # == 'опт') }}", want: true},
		{src: "{{ filter([3, 1, 2], # > 1) }}", want: []any{int64(3), int64(2)}},
		{src: "{{ sortBy([3, 1, 2], #) }}", want: []any{int64(1), int64(2), int64(3)}},
		{src: "{{ reduce([1, 2, 3], #acc + #, 10) }}", want: int64(16)},
		{src: "{{ max(1, 5, 3) }} {{ min(2, 1) }} {{ abs(-2) }} {{ floor(2.7) }} {{ ceil(2.1) }}", want: "5 1 2 2 3"},
		{src: "{{ mean([1, 2, 3, 4]) }}", want: 2.5},
		{src: "{{ take(trigger.record.tags, 1) }}", want: []any{"vip"}},
		{src: "{{ hasPrefix('Иван', 'Ив') }} {{ trimPrefix('№12', '№') }} {{ indexOf('abc', 'c') }}", want: "true 12 2"},
		{src: "{{ int('12') + float('0.5') }}", want: 12.5},
		{src: "{{ 'опт' in trigger.record.tags }}", want: true},
		{src: "{{ trigger.record.stage_id matches '^w' }}", want: true},
		{src: "{{ 2 ** 10 }}", want: int64(1024)},
		{src: "{{ repeat('ab', 3) }}", want: "ababab"},
		{src: "{{ type(1) }}", want: "int"},
		// Disabled: they allocate out of the budget's sight or read the server.
		{src: "{{ concat([1], [2]) }}", err: "unknown function concat"},
		{src: "{{ toBase64('x') }}", err: "unknown function toBase64"},
		{src: "{{ get(steps, 'client') }}", err: "unknown function get"},
		{src: "{{ duration('1h') }}", err: "unknown function duration"},
	})
}
